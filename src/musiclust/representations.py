"""Representations: standardized features -> latent matrix Z ``(n_tracks, d)``.

A new representation is one entry in `REPRESENTATIONS`: ``(latent_dim, seed) -> object`` with ``fit_transform(X)``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from sklearn.decomposition import PCA

from .errors import MusiclustError


class Raw:
    """The standardized features themselves (the baseline every learned representation must beat)."""

    def __init__(self, latent_dim: int = 0, seed: int = 0):
        self.latent_dim = latent_dim
        self.seed = seed

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64)


class PCAProjection:
    """PCA to ``latent_dim`` components (capped by the data's rank)."""

    def __init__(self, latent_dim: int = 16, seed: int = 0):
        self.latent_dim = latent_dim
        self.seed = seed

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        n_comp = max(1, min(self.latent_dim, X.shape[0], X.shape[1]))
        self.pca_ = PCA(n_components=n_comp, random_state=self.seed)
        return self.pca_.fit_transform(X)


REPRESENTATIONS: dict[str, Callable[..., object]] = {
    "raw": Raw,
    "pca": PCAProjection,
}

# Representations whose output does not depend on the seed are computed once per run.
SEED_INDEPENDENT = {"raw", "pca"}


def make_representation(name: str, latent_dim: int, seed: int):
    if name not in REPRESENTATIONS:
        raise MusiclustError(f"unknown representation '{name}'; choose from {sorted(REPRESENTATIONS)}")
    return REPRESENTATIONS[name](latent_dim=latent_dim, seed=seed)
