"""Clusterers by name. A new clusterer is one entry in `CLUSTERERS`: ``(k, seed) -> estimator`` with
``fit_predict(Z) -> labels`` (scikit-learn's interface)."""

from __future__ import annotations

from typing import Callable

import numpy as np
from sklearn.cluster import AgglomerativeClustering, KMeans

from .errors import MusiclustError


def _kmeans(k: int, seed: int):
    return KMeans(n_clusters=k, n_init=10, random_state=seed)


def _agglomerative(k: int, seed: int):
    # Ward linkage is deterministic; the seed is accepted so every clusterer has one signature.
    return AgglomerativeClustering(n_clusters=k, linkage="ward")


CLUSTERERS: dict[str, Callable[[int, int], object]] = {
    "kmeans": _kmeans,
    "agglomerative": _agglomerative,
}


def cluster(name: str, Z: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Cluster labels ``(n,)`` of the rows of ``Z`` ``(n, d)``."""
    if name not in CLUSTERERS:
        raise MusiclustError(f"unknown clusterer '{name}'; choose from {sorted(CLUSTERERS)}")
    return np.asarray(CLUSTERERS[name](k, seed).fit_predict(Z))
