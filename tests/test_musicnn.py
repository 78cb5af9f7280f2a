"""musicnn in Keras 3: the original graph's numbers on real clips, checked weights, batched and cached features."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from musiclust.errors import MusiclustError
from musiclust.features import audio, musicnn


def _weights_or_skip(model="MSD_musicnn"):
    reason = musicnn.available(model)
    if reason:
        pytest.skip(reason)


@pytest.fixture()
def clean_weight_cache(monkeypatch):
    musicnn._verified_dir.cache_clear()
    yield monkeypatch
    musicnn._verified_dir.cache_clear()


def _real_patches(shared_data, n_clips=3):
    clips = sorted((shared_data / "gtzan" / "clips").glob("*.wav"))[:n_clips]
    clips += sorted((shared_data / "emotify_dev" / "rock").glob("*.mp3"))[:1]  # an mp3, 22050 Hz -> 16 kHz
    if len(clips) < 2:
        pytest.skip("no real clips in ../shared/data")
    per = [musicnn.patches(musicnn.log_mel(audio.decode(str(p), sr=musicnn.SR)[0])) for p in clips]
    return np.concatenate(per), [len(p) for p in per]


@pytest.mark.parametrize("model", ["MSD_musicnn", "MTT_musicnn"])
def test_keras_model_matches_the_original_graph_on_real_clips(shared_data, model):
    _weights_or_skip(model)
    patches, _ = _real_patches(shared_data)
    ref = musicnn.ReferenceGraph(model).run(patches)
    ours = musicnn.embed_patches(patches, model, batch_size=16)
    assert ours["penultimate"].shape == (len(patches), 200) and ours["tags"].shape == (len(patches), 50)
    assert np.abs(ours["penultimate"] - ref["penultimate"]).max() <= 1e-4
    assert np.abs(ours["tags"] - ref["tags"]).max() <= 1e-4
    # the pools agree to float rounding relative to their size (max pool values reach the hundreds)
    for k in ("max_pool", "mean_pool"):
        assert np.abs(ours[k] - ref[k]).max() <= 1e-5 * max(1.0, np.abs(ref[k]).max())
    # real music gives a real spread of tags, not a constant
    assert ours["tags"].std(axis=0).max() > 0.05


def test_patches_are_musicnns_non_overlapping_3s_cuts():
    rep = np.arange(400 * 96, dtype=np.float32).reshape(400, 96)
    p = musicnn.patches(rep)
    assert p.shape == (2, 187, 96)  # 400 frames: two whole patches, the remainder dropped
    np.testing.assert_array_equal(p[1, 0], rep[187])
    short = musicnn.patches(rep[:50])  # shorter than a patch: repeated to one patch
    assert short.shape == (1, 187, 96)
    np.testing.assert_array_equal(short[0, 50], rep[0])


def test_missing_weights_name_the_install_command(tmp_path, clean_weight_cache):
    clean_weight_cache.setenv("MUSICLUST_MUSICNN_DIR", str(tmp_path))
    reason = musicnn.available()
    assert reason and "pip install --no-deps musicnn==0.1.0" in reason and "\n" not in reason
    with pytest.raises(musicnn.WeightsMissing):
        musicnn.checkpoint_dir()


def test_corrupt_weights_fail_their_checksum(tmp_path, clean_weight_cache):
    _weights_or_skip()
    src = musicnn.checkpoint_dir()
    dst = tmp_path / "MSD_musicnn"
    dst.mkdir()
    for name in musicnn.WEIGHT_FILES:
        shutil.copyfile(src / name, dst / name)
    with open(dst / ".data-00000-of-00001", "r+b") as f:  # one flipped byte inside the weights
        f.seek(1000)
        b = f.read(1)
        f.seek(1000)
        f.write(bytes([b[0] ^ 0xFF]))
    clean_weight_cache.setenv("MUSICLUST_MUSICNN_DIR", str(tmp_path))
    with pytest.raises(musicnn.WeightsMissing, match="sha256"):
        musicnn.checkpoint_dir()


def test_checkpoint_variables_all_placed():
    _weights_or_skip()
    w = musicnn.read_checkpoint()
    assert len(w) == 64  # 64 trained variables, every one used by the Keras model (build_network checks it)
    net = musicnn.build_network("MSD_musicnn", w)
    np.testing.assert_array_equal(net.get_layer("conv2d").get_weights()[0], w["conv2d/kernel"])
    np.testing.assert_array_equal(net.get_layer("conv2d_5").get_weights()[0], w["conv2d_5/kernel"][:, :, 0, :])


def test_engine_batches_across_tracks_caches_and_decodes_once(shared_data, tmp_path, monkeypatch):
    _weights_or_skip()
    from musiclust.features import engine
    from musiclust.features.cache import FeatureCache

    clips = [str(p) for p in sorted((shared_data / "gtzan" / "clips").glob("*.wav"))[:3]]
    reads = []
    real_read = audio.read

    def counting_read(path, *a, **k):
        reads.append(path)
        return real_read(path, *a, **k)

    monkeypatch.setattr(audio, "read", counting_read)
    cache = FeatureCache(tmp_path)
    out = engine.extract_many(clips, ["mfcc", "musicnn"], n_jobs=1, progress=False, cache=cache)
    assert sorted(reads) == sorted(clips)  # one decode per file for MFCC and musicnn together
    assert out["musicnn"].X.shape == (3, 200) and out["musicnn"].columns[0] == "musicnn1"
    # the same numbers as one clip at a time through the original graph
    ref = musicnn.ReferenceGraph()
    for i, p in enumerate(clips):
        r = ref.run(musicnn.patches(musicnn.log_mel(audio.decode(p, sr=musicnn.SR)[0])))
        assert np.abs(out["musicnn"].X[i] - r["penultimate"].mean(axis=0)).max() <= 1e-4
    # the tags and pools were cached with the embedding, so asking for them decodes nothing
    reads.clear()
    again = engine.extract_many(
        clips, ["musicnn", "musicnn_tags", "musicnn_pools"], n_jobs=1, progress=False, cache=cache
    )
    assert reads == [] and again["musicnn_tags"].n_cached == 3
    assert again["musicnn_tags"].columns[:2] == ["tag:rock", "tag:pop"]
    assert again["musicnn_pools"].X.shape == (3, 1506)
    np.testing.assert_allclose(again["musicnn"].X, out["musicnn"].X)


def test_engine_refuses_missing_weights_before_any_work(tmp_path, clean_weight_cache):
    from musiclust.features import engine

    clean_weight_cache.setenv("MUSICLUST_MUSICNN_DIR", str(tmp_path))
    with pytest.raises(MusiclustError, match="pip install --no-deps musicnn"):
        engine.extract_many(["/nonexistent.wav"], ["musicnn"], n_jobs=1, progress=False)


def test_a_run_without_the_weights_skips_musicnn_with_the_fix_and_runs_the_rest(
    small_corpus, tmp_path, clean_weight_cache, capsys
):
    import json

    import pandas as pd
    from cli_runs import only_run, run_cli

    clean_weight_cache.setenv("MUSICLUST_MUSICNN_DIR", str(tmp_path / "nothing"))
    args = ["--data-path", str(small_corpus), "--output-dir", str(tmp_path / "out"), "--no-progress", "--no-cache"]
    args += ["--models", "raw", "vae", "raw@musicnn", "vae@musicnn", "convvae_musicnn", "--clusterers", "kmeans"]
    code, out, err = run_cli(args + ["--seeds", "0", "--epochs", "3", "--no-plots"], capsys)
    assert code == 0, err
    said = [ln for ln in out.splitlines() if "musicnn" in ln and "skipped" in ln]
    assert said and all("pip install --no-deps musicnn==0.1.0" in ln for ln in said)
    run_dir = only_run(tmp_path / "out", "corpus-")
    skipped = pd.read_csv(run_dir / "skipped.csv")
    reasons = dict(zip(skipped["item"], skipped["reason"]))
    for rep in ("raw@musicnn", "vae@musicnn", "convvae_musicnn"):
        assert "pip install --no-deps musicnn" in reasons[f"representation {rep}"]
    assert set(pd.read_csv(run_dir / "metrics.csv")["representation"]) == {"raw", "vae"}
    info = json.loads((run_dir / "config.json").read_text())
    assert "musicnn" in info["resolved"]["inputs"]["unavailable_features"]
    # and asking for musicnn as the main features is a one-line error naming the fix, before any run folder
    code, out, err = run_cli(args + ["--features", "musicnn", "--seeds", "0"], capsys)
    assert code == 2 and "pip install --no-deps musicnn" in err and len(err.strip().splitlines()) == 1


def test_transfer_convvae_encodes_musicnns_front_end_and_reconstructs_its_log_mel(shared_data, tmp_path):
    _weights_or_skip()
    from musiclust.features import engine
    from musiclust.features.cache import FeatureCache
    from musiclust.models import LatentModel

    clips = [str(p) for p in sorted((shared_data / "emotify_dev" / "rock").glob("*.mp3"))[:6]]
    clips += [str(p) for p in sorted((shared_data / "emotify_dev" / "classical").glob("*.mp3"))[:6]]
    out = engine.extract_many(
        clips, ["musicnn_logmel", "musicnn_frontend"], n_jobs=1, progress=False, cache=FeatureCache(tmp_path)
    )
    mel, front = out["musicnn_logmel"].X, out["musicnn_frontend"].X
    assert mel.shape == (12, 96, 1840) and front.shape == (12, 561, 460)  # 10 patches of 184 frames, 46 steps each
    # the log-mel frames are musicnn's own input: the first patch's first 184 frames
    y16 = audio.decode(clips[0], sr=musicnn.SR)[0]
    np.testing.assert_allclose(mel[0, :, :184], musicnn.patches(musicnn.log_mel(y16))[0, :184].T, atol=1e-5)
    m = LatentModel("convvae_musicnn", latent_dim=8, epochs=2, batch_size=16, crops_per_track=2, seed=0)
    m.fit(mel, frontend=front)
    Z = m.encode(mel, frontend=front)
    assert Z.shape == (12, 8) and np.isfinite(Z).all()
    crops, side = np.asarray(mel[:2, :, :128]), np.asarray(front[:2, :, :32])
    rec = m.reconstruct(crops, frontend=side)
    assert rec.shape == crops.shape
    # the encoder reads the front end, not the log-mel: the same log-mel with another track's front end encodes apart
    other = m.encode(mel[:1], frontend=front[6:7])
    assert np.abs(other - Z[:1]).max() > 1e-3
    assert m.latent_activity_["active_units"] >= 1
    again = LatentModel.load(m.save(tmp_path / "transfer"))
    np.testing.assert_allclose(again.encode(mel, frontend=front), Z, rtol=1e-4, atol=1e-5)
