import numpy as np
import pytest

from musiclust.metrics import clustering_accuracy, external_metrics, internal_metrics, purity


def test_perfect_clustering_scores_one_under_any_renaming():
    y = np.repeat([0, 1, 2], 10)
    pred = np.repeat([2, 0, 1], 10)  # same partition, other names
    m = external_metrics(y, pred)
    assert m == pytest.approx({"ari": 1.0, "nmi": 1.0, "purity": 1.0, "acc": 1.0})


def test_known_contingency_table():
    # classes a,b; clusters 0,1,2:  a: 4 in c0, 1 in c1 ; b: 1 in c0, 2 in c1, 2 in c2
    y = np.array(list("aaaaa" + "bbbbb"))
    pred = np.array([0, 0, 0, 0, 1, 0, 1, 1, 2, 2])
    # purity: majority per cluster = 4 (c0) + 2 (c1) + 2 (c2) = 8 / 10
    assert purity(y, pred) == pytest.approx(0.8)
    # Hungarian: a->c0 (4) + b->c1 or c2 (2) = 6 / 10
    assert clustering_accuracy(y, pred) == pytest.approx(0.6)


def test_accuracy_counts_extra_clusters_as_wrong():
    y = np.array([0, 0, 1, 1])
    assert clustering_accuracy(y, np.array([0, 1, 2, 3])) == pytest.approx(0.5)


def test_separated_blobs_have_good_internal_scores():
    rng = np.random.default_rng(0)
    Z = np.vstack([rng.normal(c, 0.05, size=(20, 2)) for c in (0, 5, 10)])
    labels = np.repeat([0, 1, 2], 20)
    m = internal_metrics(Z, labels)
    assert m["silhouette"] > 0.9 and m["davies_bouldin"] < 0.1 and m["calinski_harabasz"] > 1000


def test_undefined_metrics_are_nan_with_a_reason():
    Z = np.random.default_rng(0).normal(size=(10, 2))
    m = internal_metrics(Z, np.zeros(10, int))
    assert np.isnan(m["silhouette"]) and m["note"] == "fewer than 2 clusters"
    m = internal_metrics(Z, np.full(10, -1))  # all noise
    assert np.isnan(m["davies_bouldin"])
    e = external_metrics(np.array(["x"] * 10), np.arange(10) % 2)
    assert np.isnan(e["nmi"]) and "single class" in e["note"]


def test_reconstruction_metrics_see_onsets_and_harmonics():
    from musiclust.reconstruction_metrics import harmonic_detail_correlation, onset_correlation

    rng = np.random.default_rng(0)
    n_mels, n_frames = 64, 96
    crop = np.full((n_mels, n_frames), -60.0)
    for start in range(4, n_frames, 16):  # a note every 16 frames with partials every 8 bands
        crop[4::8, start : start + 10] = -10.0
    crop += rng.normal(scale=0.5, size=crop.shape)
    crops = crop[None]
    np.testing.assert_allclose(onset_correlation(crops, crops), [1.0])
    np.testing.assert_allclose(harmonic_detail_correlation(crops, crops), [1.0])
    blurred = np.repeat(crop.mean(axis=1, keepdims=True), n_frames, axis=1)[None]  # every onset averaged away
    assert np.isnan(onset_correlation(crops, blurred)[0])
    late = np.roll(crop, 8, axis=1)[None]  # the same notes half a beat late
    assert onset_correlation(crops, late)[0] < 0.2
    smeared = np.repeat(crop.reshape(8, 8, n_frames).mean(axis=1), 8, axis=0)[None]  # partials smeared over 8 bands
    assert harmonic_detail_correlation(crops, smeared)[0] < 0.3 < harmonic_detail_correlation(crops, late)[0]
    with pytest.raises(ValueError, match="one shape"):
        onset_correlation(crops, crops[:, :, :10])
