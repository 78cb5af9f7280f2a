"""Clusterers by name, and the label-free helpers they need (DBSCAN's eps, automatic k, size guards).

A new clusterer is one entry in `CLUSTERERS`: ``(k, seed, Z) -> estimator`` with scikit-learn's ``fit_predict``.
Noise points (DBSCAN, HDBSCAN) are labelled -1.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import DBSCAN, HDBSCAN, AgglomerativeClustering, KMeans
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from .errors import MusiclustError

log = logging.getLogger(__name__)

# Above this many points the O(n^2) clusterers fit a seeded subsample and extend its labels to every point by its
# nearest fitted neighbour (and say so in the result's note).
MAX_EXACT_POINTS = 15000


def dbscan_eps(Z: np.ndarray, min_samples: int) -> float:
    """eps at the knee of the sorted k-distance curve (Ester et al. 1996, section 4.2), k = ``min_samples``.

    The knee is the point of the sorted curve farthest from the chord joining its ends (the "kneedle" idea,
    Satopaa et al. 2011), so eps follows the data's own density instead of a constant.
    """
    nn = NearestNeighbors(n_neighbors=min(min_samples + 1, len(Z))).fit(Z)
    dist = np.sort(nn.kneighbors(Z)[0][:, -1])
    x = np.linspace(0.0, 1.0, len(dist))
    span = dist[-1] - dist[0]
    if span <= 0:
        return float(dist[-1]) or 1e-6
    y = (dist - dist[0]) / span
    knee = int(np.argmax(x - y))  # convex increasing curve: the knee lies farthest below the chord
    return float(max(dist[knee], 1e-6))


def _kmeans(k, seed, Z):
    return KMeans(n_clusters=k, n_init=10, random_state=seed)


def _agglomerative(k, seed, Z):
    return AgglomerativeClustering(n_clusters=k, linkage="ward")


def _gmm(k, seed, Z):
    return _GMMPredict(
        GaussianMixture(n_components=k, covariance_type="diag", n_init=2, random_state=seed, reg_covar=1e-5)
    )


def _dbscan(k, seed, Z):
    min_samples = max(4, 2 * min(Z.shape[1], 8))  # Sander et al. 1998: about twice the dimension
    return DBSCAN(eps=dbscan_eps(Z, min_samples), min_samples=min_samples)


def _hdbscan(k, seed, Z):
    return HDBSCAN(min_cluster_size=max(5, len(Z) // 50), copy=True)


class _GMMPredict:
    def __init__(self, gmm):
        self.gmm = gmm

    def fit_predict(self, Z):
        return self.gmm.fit(Z).predict(Z)


# UMAP before clustering, as BERTopic and AudioMuse-AI do: parameters fixed in advance (never tuned on labels) and
# recorded with every run. min_dist=0 packs neighbours tightly, which is what a clusterer wants (McInnes et al. 2018,
# "Using UMAP for clustering"); 10 dimensions keep more structure than the 2 of a plot.
UMAP_PARAMS = {"n_components": 10, "n_neighbors": 15, "min_dist": 0.0, "metric": "euclidean"}
_UMAP_CACHE: dict[tuple, np.ndarray] = {}


def umap_embedding(Z: np.ndarray, seed: int) -> np.ndarray:
    """``Z`` ``(n, d)`` reduced by UMAP (`UMAP_PARAMS`, seeded) to ``(n, min(10, n - 2))``; memoized per (Z, seed), so
    umap_kmeans, umap_gmm and umap_hdbscan on one representation share one embedding."""
    import hashlib
    import warnings

    Z = np.ascontiguousarray(Z, dtype=np.float64)
    key = (hashlib.sha1(Z.tobytes()).hexdigest(), Z.shape, seed)
    if key not in _UMAP_CACHE:
        from .logs import import_umap

        umap = import_umap()

        n = len(Z)
        params = dict(
            UMAP_PARAMS,
            n_components=max(1, min(UMAP_PARAMS["n_components"], n - 2)),
            n_neighbors=max(2, min(UMAP_PARAMS["n_neighbors"], n - 1)),
        )
        with warnings.catch_warnings():  # "n_jobs overridden to 1 by setting random_state": intended, for determinism
            warnings.simplefilter("ignore")
            reducer = umap.UMAP(
                random_state=seed, init="spectral" if n > params["n_components"] + 2 else "random", **params
            )
            embedded = reducer.fit_transform(Z)
        if len(_UMAP_CACHE) >= 16:
            _UMAP_CACHE.pop(next(iter(_UMAP_CACHE)))
        _UMAP_CACHE[key] = np.asarray(embedded, dtype=np.float64)
    return _UMAP_CACHE[key]


class _AfterUMAP:
    """Cluster the UMAP embedding of ``Z`` instead of ``Z`` itself."""

    def __init__(self, inner, seed: int):
        self.inner, self.seed = inner, seed

    def fit_predict(self, Z):
        return self.inner.fit_predict(umap_embedding(Z, self.seed))


def _umap_kmeans(k, seed, Z):
    return _AfterUMAP(_kmeans(k, seed, Z), seed)


def _umap_gmm(k, seed, Z):
    return _AfterUMAP(_gmm(k, seed, Z), seed)


def _umap_hdbscan(k, seed, Z):
    return _AfterUMAP(_hdbscan(k, seed, Z), seed)


@dataclass(frozen=True)
class ClustererSpec:
    name: str
    factory: Callable
    uses_k: bool
    quadratic: bool  # O(n^2) time or memory: guarded above MAX_EXACT_POINTS
    description: str


CLUSTERERS: dict[str, ClustererSpec] = {
    s.name: s
    for s in (
        ClustererSpec("kmeans", _kmeans, True, False, "K-Means, 10 initializations"),
        ClustererSpec("agglomerative", _agglomerative, True, True, "Agglomerative, Ward linkage"),
        ClustererSpec("gmm", _gmm, True, False, "Gaussian mixture, diagonal covariances"),
        ClustererSpec("dbscan", _dbscan, False, True, "DBSCAN, eps from the k-distance knee"),
        ClustererSpec("hdbscan", _hdbscan, False, True, "HDBSCAN, min cluster size max(5, n/50)"),
        ClustererSpec(
            "umap_kmeans", _umap_kmeans, True, False, "UMAP to 10-D (15 neighbours, min_dist 0), then K-Means"
        ),
        ClustererSpec(
            "umap_gmm", _umap_gmm, True, False, "UMAP to 10-D (15 neighbours, min_dist 0), then a diagonal GMM"
        ),
        ClustererSpec(
            "umap_hdbscan", _umap_hdbscan, False, True, "UMAP to 10-D (15 neighbours, min_dist 0), then HDBSCAN"
        ),
    )
}


@dataclass
class Clustering:
    labels: np.ndarray  # (n,), -1 = noise
    notes: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)

    @property
    def n_clusters(self) -> int:
        return int(len(np.unique(self.labels[self.labels >= 0])))

    @property
    def noise_fraction(self) -> float:
        return float(np.mean(self.labels < 0))


def cluster(name: str, Z: np.ndarray, k: int, seed: int, max_exact: int = MAX_EXACT_POINTS) -> Clustering:
    """Cluster the rows of ``Z`` ``(n, d)``; guarded above ``max_exact`` points for the O(n^2) methods."""
    if name not in CLUSTERERS:
        raise MusiclustError(f"unknown clusterer '{name}'; choose from {sorted(CLUSTERERS)}")
    spec = CLUSTERERS[name]
    notes, fit_Z, sub = [], Z, None
    if spec.quadratic and len(Z) > max_exact:
        sub = np.sort(np.random.default_rng(seed).choice(len(Z), max_exact, replace=False))
        fit_Z = Z[sub]
        notes.append(
            f"{name} fitted on a {max_exact}-point subsample; other points take their nearest fitted neighbour's label"
        )
    if spec.uses_k and k > len(fit_Z):
        return Clustering(np.full(len(Z), -1), [f"{name} needs at least k={k} points, has {len(fit_Z)}"])
    est = spec.factory(k, seed, fit_Z)
    try:
        labels = np.asarray(est.fit_predict(fit_Z))
    except (ValueError, TypeError) as exc:  # e.g. HDBSCAN or UMAP on too few points: no clustering, said so
        return Clustering(np.full(len(Z), -1), [f"{name} could not run: {str(exc).splitlines()[0]}"])
    params = {"eps": float(est.eps), "min_samples": int(est.min_samples)} if isinstance(est, DBSCAN) else {}
    if sub is not None:
        full = np.empty(len(Z), dtype=labels.dtype)
        full[sub] = labels
        rest = np.setdiff1d(np.arange(len(Z)), sub)
        full[rest] = KNeighborsClassifier(n_neighbors=1).fit(fit_Z, labels).predict(Z[rest])
        labels = full
    return Clustering(labels, notes, params)


def k_criteria(Z: np.ndarray, k_range: range, seed: int = 0, sample_size: int = 3000) -> dict[int, dict[str, float]]:
    """Label-free scores of K-Means (and a diagonal GMM for BIC) for each k: ``{k: {silhouette, calinski_harabasz,
    davies_bouldin, gmm_bic}}``. Silhouette is estimated on at most ``sample_size`` points (seeded)."""
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

    scores = {}
    for k in k_range:
        if k >= len(Z):
            break
        labels = KMeans(n_clusters=k, n_init=5, random_state=seed).fit_predict(Z)
        gmm = GaussianMixture(n_components=k, covariance_type="diag", random_state=seed, reg_covar=1e-5).fit(Z)
        scores[k] = {
            "silhouette": float(silhouette_score(Z, labels, sample_size=min(sample_size, len(Z)), random_state=seed)),
            "calinski_harabasz": float(calinski_harabasz_score(Z, labels)),
            "davies_bouldin": float(davies_bouldin_score(Z, labels)),
            "gmm_bic": float(gmm.bic(Z)),
        }
    return scores
