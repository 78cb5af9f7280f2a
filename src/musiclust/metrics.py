"""Clustering metrics as pure functions: arrays in, ``dict[str, float]`` out.

Undefined values (one cluster, a single-class label) are NaN, with the reason under the key ``"note"``, never an
exception mid-run. scikit-learn computes Silhouette, Calinski-Harabasz, Davies-Bouldin, ARI and NMI; scipy's
``linear_sum_assignment`` gives the Hungarian matching behind clustering accuracy.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn import metrics as skm
from sklearn.metrics.cluster import contingency_matrix

NAN = float("nan")
INTERNAL = ("silhouette", "calinski_harabasz", "davies_bouldin")
EXTERNAL = ("ari", "nmi", "purity", "acc")


def purity(y_true, y_pred) -> float:
    """Fraction of tracks whose cluster's majority class is their own class (1.0 = every cluster pure)."""
    c = contingency_matrix(y_true, y_pred)
    return float(c.max(axis=0).sum() / c.sum())


def clustering_accuracy(y_true, y_pred) -> float:
    """Accuracy under the best one-to-one matching of clusters to classes (Hungarian algorithm).

    With more clusters than classes, the unmatched clusters count as wrong.
    """
    c = contingency_matrix(y_true, y_pred)
    rows, cols = linear_sum_assignment(c, maximize=True)
    return float(c[rows, cols].sum() / c.sum())


def external_metrics(y_true, y_pred) -> dict[str, float]:
    """ARI, NMI, purity and Hungarian accuracy of predicted clusters against true labels."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if len(np.unique(y_true)) < 2:
        return {**{m: NAN for m in EXTERNAL}, "note": "label has a single class"}
    return {
        "ari": float(skm.adjusted_rand_score(y_true, y_pred)),
        "nmi": float(skm.normalized_mutual_info_score(y_true, y_pred)),
        "purity": purity(y_true, y_pred),
        "acc": clustering_accuracy(y_true, y_pred),
    }


def internal_metrics(Z: np.ndarray, labels, sample_size: int = 5000, random_state: int = 0) -> dict[str, float]:
    """Silhouette, Calinski-Harabasz and Davies-Bouldin of a clustering in the space ``Z`` ``(n, d)``.

    Noise points (label -1, from DBSCAN/HDBSCAN) are left out. Silhouette is O(n^2), so above ``sample_size`` points
    it is estimated on a seeded random subsample.
    """
    labels = np.asarray(labels)
    keep = labels != -1
    Z, labels = np.asarray(Z)[keep], labels[keep]
    n_clusters = len(np.unique(labels))
    if n_clusters < 2 or n_clusters >= len(labels):
        reason = "fewer than 2 clusters" if n_clusters < 2 else "every point is its own cluster"
        return {**{m: NAN for m in INTERNAL}, "note": reason}
    sample = sample_size if len(labels) > sample_size else None
    return {
        "silhouette": float(skm.silhouette_score(Z, labels, sample_size=sample, random_state=random_state)),
        "calinski_harabasz": float(skm.calinski_harabasz_score(Z, labels)),
        "davies_bouldin": float(skm.davies_bouldin_score(Z, labels)),
    }
