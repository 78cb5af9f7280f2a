"""Audio decoding, the feature sets against librosa and the naive reference, the cache, and the Dask path."""

import sys
import time

import librosa
import numpy as np
import pytest
import scipy.ndimage as ndi
import soundfile as sf
from conftest import REPO

from musiclust.features import audio, kernels
from musiclust.features.cache import FeatureCache
from musiclust.features.engine import extract

sys.path.insert(0, str(REPO / "benchmarks"))
from naive_reference import naive_gtzan57, naive_mfcc40  # noqa: E402

SR = 22050


def music_like(seconds=6.0, sr=SR, seed=0):
    """A test signal with harmonic tones, percussive clicks and noise (written by the test, not presented as music)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = sum(0.2 / (i + 1) * np.sin(2 * np.pi * f * t) for i, f in enumerate([220, 330, 440, 660]))
    clicks = np.zeros_like(t)
    clicks[:: sr // 4] = 1.0
    y = y + np.convolve(clicks, np.exp(-np.arange(400) / 40), mode="same") * 0.3 + 0.01 * rng.normal(size=t.size)
    return (y / np.abs(y).max() * 0.8).astype(np.float32)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clips") / "tone.wav"
    sf.write(str(path), music_like(), SR, subtype="PCM_16")
    return str(path)


@pytest.mark.parametrize(
    "fmt,subtype,sr,channels",
    [
        ("WAV", "PCM_16", 22050, 1),
        ("WAV", "PCM_16", 44100, 2),
        ("AU", "PCM_16", 22050, 1),
        ("FLAC", "PCM_16", 44100, 1),
    ],
)
def test_decode_paths_match_librosa_load(tmp_path, fmt, subtype, sr, channels):
    y = music_like(2.0, sr)
    data = np.stack([y, 0.5 * y], axis=1) if channels == 2 else y
    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(str(path), data, sr, format=fmt, subtype=subtype)
    ours, info = audio.decode(str(path))
    ref, ref_sr = librosa.load(str(path))
    assert ref_sr == SR and info["orig_sr"] == sr and info["channels"] == channels
    assert ours.shape == ref.shape == (int(np.ceil(2.0 * SR)),) or ours.shape == ref.shape
    np.testing.assert_array_equal(ours, ref)


def test_decode_mp3(shared_data):
    path = shared_data / "genre_mp3" / "disco.mp3"
    ours, info = audio.decode(str(path))
    ref, _ = librosa.load(str(path))
    assert info["orig_sr"] in (44100, 48000, 22050) and ours.size > SR
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_bad_files_are_skipped_with_reasons_and_odd_ones_are_recorded(tmp_path, clip):
    silent, short, corrupt, empty = (tmp_path / n for n in ("silent.wav", "short.wav", "corrupt.wav", "empty.wav"))
    sf.write(str(silent), np.zeros(SR * 2, np.float32), SR)
    sf.write(str(short), music_like(0.02), SR)  # 441 samples: shorter than one 2048-sample window
    corrupt.write_bytes(b"RIFF" + bytes(64))
    sf.write(str(empty), np.zeros(0, np.float32), SR)
    paths = [clip, str(short), str(silent), str(corrupt), str(empty), str(tmp_path / "missing.wav")]
    for fs in ("mfcc", "gtzan57", "mfcc_delta"):
        ex = extract(paths, fs, n_jobs=1, progress=False)
        assert ex.kept == [0, 1]
        assert np.isfinite(ex.X).all() and ex.X.shape[0] == 2
        assert ex.notes[1]["padded_from_samples"] == 441
        reasons = {s["item"]: s["reason"] for s in ex.skipped}
        assert set(reasons) == set(paths[2:])
        assert reasons[str(silent)] == "silent: all 2.0 s of audio are below -90 dBFS (one 16-bit step)"
        assert all(r.startswith(("silent", "unreadable", "file contains no", "cannot read")) for r in reasons.values())


def test_gtzan57_agrees_with_the_naive_reference(clip):
    fast = audio.compute(audio.decode(clip)[0], "gtzan57")
    ref = naive_gtzan57(clip)
    names = fast[1]
    assert names == list(ref)  # same 57 names in the Kaggle order
    for name, value in zip(names, fast[0]):
        assert value == pytest.approx(ref[name], rel=1e-3, abs=1e-9), name


def test_gtzan57_agrees_on_a_real_clip(shared_data):
    path = str(shared_data / "gtzan" / "clips" / "reggae.00000.wav")
    values, names, _ = audio.compute(audio.decode(path)[0], "gtzan57")
    ref = naive_gtzan57(path)
    for name, value in zip(names, values):
        assert value == pytest.approx(ref[name], rel=1e-3, abs=1e-9), name


def test_mfcc_is_identical_to_librosa(clip):
    values, names, _ = audio.compute(audio.decode(clip)[0], "mfcc")
    ref = naive_mfcc40(clip)
    assert names == list(ref) and len(names) == 40
    np.testing.assert_allclose(values, [ref[n] for n in names], rtol=1e-6, atol=1e-6)


def test_kernels_equal_the_library_calls():
    rng = np.random.default_rng(1)
    S = np.abs(rng.normal(size=(257, 300))).astype(np.float32)
    S[:, 5] = 0  # a silent frame
    S[10:13, :] = S[10, :]  # ties
    for axis, size in ((1, (1, 31)), (0, (31, 1))):
        np.testing.assert_array_equal(
            kernels.median_filter_axis(S, 31, axis), ndi.median_filter(S, size=size, mode="reflect")
        )
    shape = kernels.spectral_shape(S, sr=SR, n_fft=512)
    np.testing.assert_allclose(
        shape["centroid"], librosa.feature.spectral_centroid(S=S, sr=SR, n_fft=512)[0], rtol=1e-6
    )
    np.testing.assert_allclose(
        shape["bandwidth"], librosa.feature.spectral_bandwidth(S=S, sr=SR, n_fft=512)[0], rtol=1e-6
    )
    np.testing.assert_array_equal(shape["rolloff"], librosa.feature.spectral_rolloff(S=S, sr=SR, n_fft=512)[0])
    y = music_like(1.0)
    y[1000:3000] = 0
    y[5000:5100] = 1e-11  # below librosa's zero threshold, of both signs
    y[5001:5100:2] = -1e-11
    np.testing.assert_array_equal(kernels.zero_crossing_rate(y), librosa.feature.zero_crossing_rate(y)[0])
    np.testing.assert_allclose(kernels.rms(y), librosa.feature.rms(y=y)[0], rtol=1e-5, atol=1e-9)
    P = np.abs(librosa.stft(y)) ** 2
    assert kernels.estimate_tuning(P.T, sr=SR, n_fft=2048) == librosa.estimate_tuning(S=P, sr=SR)
    for seed in range(5):  # random spectra: many peaks, ties and edge bins
        R = np.random.default_rng(seed).exponential(size=(1025, 40)).astype(np.float32)
        R[:, 3] = 0
        assert kernels.estimate_tuning(R.T, sr=SR, n_fft=2048) == librosa.estimate_tuning(S=R, sr=SR)
    y = music_like(2.0)
    y[5000:30000] = 0  # digital silence: bins where both medians are zero take librosa's split-zeros branch
    D = librosa.stft(y)
    ref = librosa.decompose.hpss(D)[0]
    np.testing.assert_allclose(kernels.harmonic_stft(D.T), ref.T, rtol=1e-5, atol=1e-6 * np.abs(ref).max())


@pytest.mark.parametrize("seconds", [0.1, 1.0, 6.0])
def test_frame_layout_stft_istft_and_tempogram_equal_librosa(seconds):
    y = music_like(seconds) if seconds >= 1 else music_like(1.0)[: int(seconds * SR)]
    D_tf = kernels.stft_frames(y)
    np.testing.assert_allclose(D_tf, librosa.stft(y).T, rtol=0, atol=1e-6 * np.abs(D_tf).max())
    rng = np.random.default_rng(2)
    X = (D_tf * rng.uniform(0, 1, size=D_tf.shape)).astype(np.complex64)  # a masked STFT, as HPSS makes
    np.testing.assert_allclose(
        kernels.istft_frames(X, length=y.size), librosa.istft(X.T, length=y.size), rtol=0, atol=1e-6
    )
    np.testing.assert_allclose(kernels.istft_frames(D_tf, length=y.size), y, rtol=0, atol=1e-6)
    onset = librosa.onset.onset_strength(y=y, sr=SR)
    np.testing.assert_allclose(
        kernels.mean_tempogram(onset, 344),
        librosa.feature.tempogram(onset_envelope=onset, sr=SR, win_length=344).mean(axis=1, keepdims=True),
        rtol=1e-5,
        atol=1e-6,
    )


def test_logmel_patch_shape_and_memory_mapped_stack(tmp_path, clip):
    cache = FeatureCache(tmp_path / "cache")
    ex = extract([clip, clip], "logmel", n_jobs=1, progress=False, cache=cache)
    assert ex.X.shape == (2, 128, 128) and ex.X.dtype == np.float32
    assert isinstance(ex.X, np.memmap)
    assert ex.notes[0]["padded_to_seconds"] == 30.0  # a 6-s clip is padded to the 30-s patch
    y = audio.decode(clip)[0]
    np.testing.assert_allclose(ex.X[0], audio.logmel_patch(audio.ClipSpectra(y)), rtol=1e-5)


def test_cache_hits_invalidation_and_corruption(tmp_path, clip, monkeypatch):
    import shutil

    mine = tmp_path / "a.wav"
    shutil.copy(clip, mine)
    cache = FeatureCache(tmp_path / "cache")
    first = extract([str(mine)], "mfcc", n_jobs=1, progress=False, cache=cache)
    assert first.n_cached == 0
    again = extract([str(mine)], "mfcc", n_jobs=1, progress=False, cache=cache)
    assert again.n_cached == 1 and again.columns == first.columns
    np.testing.assert_array_equal(again.X, first.X)
    # a parameter change recomputes
    monkeypatch.setitem(audio.FEATURE_PARAMS, "n_mels", 64)
    assert extract([str(mine)], "mfcc", n_jobs=1, progress=False, cache=cache).n_cached == 0
    monkeypatch.setitem(audio.FEATURE_PARAMS, "n_mels", 128)
    # a changed file recomputes (different content, size and mtime)
    time.sleep(0.01)
    sf.write(str(mine), music_like(3.0, seed=5), SR)
    changed = extract([str(mine)], "mfcc", n_jobs=1, progress=False, cache=cache)
    assert changed.n_cached == 0 and not np.allclose(changed.X, first.X)
    # a corrupt entry is detected and rebuilt
    for entry in (tmp_path / "cache" / "mfcc").rglob("*.npz"):
        entry.write_bytes(b"not a zip file")
    rebuilt = extract([str(mine)], "mfcc", n_jobs=1, progress=False, cache=cache)
    assert rebuilt.n_cached == 0
    np.testing.assert_array_equal(rebuilt.X, changed.X)
    assert extract([str(mine)], "mfcc", n_jobs=1, progress=False, cache=cache).n_cached == 1


def test_content_keyed_cache_survives_a_move(tmp_path, clip):
    import shutil

    cache = FeatureCache(tmp_path / "cache")
    a, b = tmp_path / "a.wav", tmp_path / "moved.wav"
    shutil.copy(clip, a)
    shutil.copy(clip, b)
    extract([str(a)], "mfcc", n_jobs=1, progress=False, cache=cache, sha256=["abc"])
    assert extract([str(b)], "mfcc", n_jobs=1, progress=False, cache=cache, sha256=["abc"]).n_cached == 1


def test_dask_backend_on_a_local_cluster(clip, tmp_path):
    from dask.distributed import LocalCluster

    other = tmp_path / "b.wav"
    sf.write(str(other), music_like(2.0, seed=3), SR)
    local = extract([clip, str(other)], "mfcc", n_jobs=1, progress=False)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        remote = extract([clip, str(other)], "mfcc", progress=False, dask_scheduler=cluster.scheduler_address)
    np.testing.assert_array_equal(remote.X, local.X)


def test_unreachable_dask_scheduler_is_a_clear_error(clip):
    from musiclust.errors import MusiclustError

    with pytest.raises(MusiclustError, match="cannot reach the Dask scheduler"):
        extract([clip], "mfcc", progress=False, dask_scheduler="tcp://127.0.0.1:9")


def test_several_sets_share_one_decode_and_one_stft(clip, monkeypatch):
    from musiclust.features import engine

    calls = {"decode": 0, "stft": 0}
    real_read, real_stft = audio.read, audio.ClipSpectra.stft.fget

    def counting_read(*a, **k):  # the file is read (decoded) once, then resampled to each rate it is analysed at
        calls["decode"] += 1
        return real_read(*a, **k)

    def counting_stft(self):
        if "stft" not in self._cache:
            calls["stft"] += 1
        return real_stft(self)

    monkeypatch.setattr(audio, "read", counting_read)
    monkeypatch.setattr(audio.ClipSpectra, "stft", property(counting_stft))
    out = engine.extract_many([clip], ["mfcc", "gtzan57", "logmel"], n_jobs=1, progress=False)
    assert calls == {"decode": 1, "stft": 1}
    monkeypatch.undo()
    np.testing.assert_array_equal(out["gtzan57"].X, extract([clip], "gtzan57", n_jobs=1, progress=False).X)
    assert out["logmel"].X.shape == (1, 128, 128) and out["mfcc"].X.shape == (1, 40)
