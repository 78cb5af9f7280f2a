import sys

import numpy as np
import pytest

from musiclust.clustering import CLUSTERERS, cluster, dbscan_eps
from musiclust.metrics import external_metrics


def blobs(n_per=60, k=3, seed=0):
    rng = np.random.default_rng(seed)
    Z = np.vstack([rng.normal(c * 8, 0.5, size=(n_per, 2)) for c in range(k)])
    return Z, np.repeat(np.arange(k), n_per)


def test_every_clusterer_finds_well_separated_blobs():
    Z, y = blobs()
    for name in CLUSTERERS:
        res = cluster(name, Z, 3, seed=0)
        core = res.labels >= 0  # density methods may call a few outskirts noise
        assert res.noise_fraction < 0.1, name
        assert external_metrics(y[core], res.labels[core])["ari"] > 0.95, name
        assert res.n_clusters == 3, name


def test_dbscan_eps_follows_the_density():
    Z, _ = blobs()
    eps = dbscan_eps(Z, min_samples=4)
    assert 0.1 < eps < 8  # inside a blob's spacing, far below the gap between blobs
    assert dbscan_eps(Z * 10, min_samples=4) > 5 * eps  # scales with the data, not a constant


def test_dbscan_on_too_few_points_is_all_noise_not_an_error():
    Z = np.random.default_rng(0).normal(size=(10, 8))
    res = cluster("dbscan", Z, 3, seed=0)
    assert res.n_clusters == 0 and res.noise_fraction == 1.0


def test_quadratic_clusterers_are_guarded_on_large_inputs():
    Z, y = blobs(n_per=400)
    res = cluster("agglomerative", Z, 3, seed=0, max_exact=300)
    assert "subsample" in res.notes[0]
    assert len(res.labels) == len(Z) and external_metrics(y, res.labels)["ari"] > 0.95


def test_auto_k_without_labels_records_every_criterion_and_the_rule():
    from musiclust.evaluation import choose_k_auto

    Z, _ = blobs(k=4)
    k, info = choose_k_auto(Z, range(2, 8), seed=0)
    assert k == 4 and set(info["criteria_by_k"]) == {str(k) for k in range(2, 8)}
    assert set(info["picks"]) == {"silhouette", "calinski_harabasz", "davies_bouldin", "gmm_bic"}
    assert "median" in info["chosen_by"]
    for scores in info["criteria_by_k"].values():
        assert set(scores) == {"silhouette", "calinski_harabasz", "davies_bouldin", "gmm_bic"}


@pytest.mark.parametrize("name", ["umap_kmeans", "umap_gmm", "umap_hdbscan"])
def test_umap_clusterers_are_registered_seeded_and_deterministic(name):
    from musiclust.clustering import UMAP_PARAMS, umap_embedding

    Z, y = blobs(k=4)
    assert name in CLUSTERERS and CLUSTERERS[name].uses_k == (name != "umap_hdbscan")
    a = cluster(name, Z, 4, seed=0).labels
    b = cluster(name, Z, 4, seed=0).labels
    assert np.array_equal(a, b)  # same seed, same clusters
    assert external_metrics(y, a)["ari"] > 0.9
    E = umap_embedding(Z, 0)
    assert E.shape == (len(Z), UMAP_PARAMS["n_components"]) and UMAP_PARAMS["min_dist"] == 0.0
    assert not np.allclose(E, umap_embedding(Z, 1))  # the seed is used


def _score_by_key(reps: dict):
    """A stand-in for `evaluation.score` with its contract: one metrics row per (representation, seed) in order, and
    each representation's clusters from the first seed it meets."""
    import pandas as pd

    rows, assignments = [], {}
    for (name, seed), rep in reps.items():
        labels = (rep["Z"][:, 0] > np.median(rep["Z"][:, 0])).astype(int)
        rows.append({"representation": name, "seed": seed, "value": float(rep["Z"].sum())})
        assignments.setdefault((name, "kmeans"), (np.arange(len(labels)), labels))
    return pd.DataFrame(rows), assignments


def test_trained_representations_scored_in_two_processes_equal_one_process():
    from musiclust.experiment import _score_in_parallel

    rng = np.random.default_rng(0)
    reps = {
        (name, seed): {"Z": rng.normal(size=(30, 4)), "rows": None, "note": "", "seconds": 1.0, "history": {"x": [1]}}
        for name in ("vae", "ae", "dec")
        for seed in (0, 1, 2)
    }
    m1, a1 = _score_by_key(reps)
    m2, a2 = _score_in_parallel(_score_by_key, reps, 2)
    assert m2.equals(m1)
    assert list(a2) == list(a1)
    for key in a1:  # each representation keeps its first seed's clusters, as in one process
        assert np.array_equal(a2[key][1], a1[key][1])
    first = (reps[("ae", 0)]["Z"][:, 0] > np.median(reps[("ae", 0)]["Z"][:, 0])).astype(int)
    assert np.array_equal(a2[("ae", "kmeans")][1], first)


def test_umap_kernels_are_cached_on_disk_after_import():
    from numba.core.caching import NullCache
    from numba.core.registry import CPUDispatcher

    from musiclust.logs import import_umap

    import_umap()
    uncached = [
        f"{mod_name}.{attr}"
        for mod_name, mod in list(sys.modules.items())
        if mod_name.split(".")[0] in ("umap", "pynndescent") and mod is not None
        for attr, obj in vars(mod).items()
        if isinstance(obj, CPUDispatcher) and isinstance(obj._cache, NullCache)
    ]
    assert uncached == []
