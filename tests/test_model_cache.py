"""The trained-model cache: a repeated run reuses its models and gets the same numbers; anything that decides a model
(settings, inputs, seed) or a damaged entry trains it again; --retrain gives the same models as the cache held."""

import json

import numpy as np
import pandas as pd
import pytest
from cli_runs import run_cli

from musiclust.model_cache import ModelCache, array_digest, entry_key, inputs_digest
from musiclust.models import LatentModel
from musiclust.representations import Inputs

MODELS = ["ae", "vae", "convvae"]


def _study(small_corpus, out_dir, cache_dir, capsys, *extra):
    args = ["--data-path", str(small_corpus), "--output-dir", str(out_dir), "--cache-dir", str(cache_dir)]
    args += ["--models", "raw", *MODELS, *"--clusterers kmeans --seeds 0 --epochs 3 --no-plots --no-progress".split()]
    args += list(extra)
    before = {p.name for p in out_dir.iterdir()} if out_dir.exists() else set()
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    (run_dir,) = [p for p in out_dir.iterdir() if p.is_dir() and p.name not in before]
    info = json.loads((run_dir / "config.json").read_text())
    return run_dir, info["resolved"]["models_from_cache"], out


def _entry(cache_dir, name, epochs):
    """The cache folder of the model ``name`` trained for ``epochs`` epochs."""
    for folder in (cache_dir / "models").glob("*/*"):
        if (folder / "model.json").is_file():
            params = json.loads((folder / "model.json").read_text())["params"]
            if params["name"] == name and params["epochs"] == epochs:
                return folder
    raise AssertionError(f"no cache entry for {name}")


def _metrics(run_dir):
    m = pd.read_csv(run_dir / "metrics.csv")
    # a direct representation's fit_seconds is measured anew every run; a model's is its training time
    return m[m["representation"] != "raw"].reset_index(drop=True), m[m["representation"] == "raw"].drop(
        columns="fit_seconds"
    )


@pytest.fixture(scope="module")
def cached_runs(small_corpus, tmp_path_factory):
    """A first run (trains and fills the cache) and a repeat of it (reads the cache)."""
    base = tmp_path_factory.mktemp("model_cache")
    capsys = _NoCapture()
    first = _study(small_corpus, base / "results", base / "cache", capsys)
    second = _study(small_corpus, base / "results", base / "cache", capsys)
    return base, first, second


class _NoCapture:
    """run_cli's capsys for a module fixture (pytest's capsys is per test): the output is not needed there."""

    def readouterr(self):
        return type("Out", (), {"out": "", "err": ""})()


def test_a_repeated_run_reuses_every_model_and_gets_the_same_numbers(cached_runs):
    base, (run1, cached1, _), (run2, cached2, _) = cached_runs
    assert cached1 == []
    assert sorted(cached2) == sorted(f"{m}_seed0" for m in MODELS)
    models1, raw1 = _metrics(run1)
    models2, raw2 = _metrics(run2)
    pd.testing.assert_frame_equal(models1, models2)  # training seconds included: the cached model's own
    pd.testing.assert_frame_equal(raw1, raw2)
    assert (run1 / "clusters.csv").read_bytes() == (run2 / "clusters.csv").read_bytes()
    assert json.loads((run1 / "histories.json").read_text()) == json.loads((run2 / "histories.json").read_text())
    with np.load(run1 / "latents.npz") as a, np.load(run2 / "latents.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])
    # the report says where the repeat run's models came from, so its run time is not read as training time
    assert "taken from the model cache" not in (run1 / "report.md").read_text()
    assert "3 trained models were taken from the model cache" in (run2 / "report.md").read_text()
    # the repeat run's models folder holds the models the first run trained
    for name in MODELS:
        a, b = (LatentModel.load(run / "models" / f"{name}_seed0") for run in (run1, run2))
        assert a.name == b.name == name
        for wa, wb in zip(a.model_.get_weights(), b.model_.get_weights(), strict=True):
            np.testing.assert_array_equal(wa, wb)


def test_retrain_trains_again_and_gets_the_models_the_cache_held(cached_runs, small_corpus, capsys):
    base, (run1, _, _), _ = cached_runs
    run3, cached3, _ = _study(small_corpus, base / "results", base / "cache", capsys, "--retrain")
    assert cached3 == []
    # training is deterministic: what the cache's premise rests on
    models1, _ = _metrics(run1)
    models3, _ = _metrics(run3)
    pd.testing.assert_frame_equal(models1.drop(columns="fit_seconds"), models3.drop(columns="fit_seconds"))


def test_other_settings_or_a_damaged_entry_train_again(cached_runs, small_corpus, capsys):
    base, _, _ = cached_runs
    results, cache = base / "results", base / "cache"
    _, cached, _ = _study(small_corpus, results, cache, capsys, "--epochs", "4")
    # other settings: other models, exactly those the setting reaches (the ConvVAE has epochs of its own)
    assert cached == ["convvae_seed0"]
    _, cached, out = _study(small_corpus, results, cache, capsys)
    assert sorted(cached) == sorted(f"{m}_seed0" for m in MODELS)
    assert "3 of 3 trained models reused from the model cache" in out
    # damage the VAE's entry: it is a miss, trained again, and its entry rewritten whole
    vae = _entry(cache, "vae", epochs=3)
    (vae / "result.npz").write_bytes(b"not a zip file")
    _, cached, _ = _study(small_corpus, results, cache, capsys)
    assert sorted(cached) == sorted(f"{m}_seed0" for m in MODELS if m != "vae")
    assert ModelCache(cache).load(vae.name, base / "check" / "vae") is not None


def test_the_key_follows_content_settings_and_seed(tmp_path):
    X = np.random.default_rng(0).standard_normal((20, 5)).astype(np.float32)
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=X.shape)
    mm[:] = X
    mm.flush()
    assert array_digest(np.load(tmp_path / "x.npy", mmap_mode="r")) == array_digest(X)  # read in chunks, same hash
    a = inputs_digest(Inputs(audio=X))
    Y = X.copy()
    Y[3, 2] += 1e-6
    assert inputs_digest(Inputs(audio=Y)) != a
    assert inputs_digest(Inputs(audio=X, condition=np.array(["de"] * 10 + ["en"] * 10))) != a
    params = {"latent_dim": 16, "model": {"epochs": 40}}
    key = entry_key("vae", 0, params, a, True)
    assert entry_key("vae", 0, params, a, True) == key
    assert len({key, entry_key("vae", 1, params, a, True), entry_key("ae", 0, params, a, True)}) == 3
    assert entry_key("vae", 0, {"latent_dim": 16, "model": {"epochs": 41}}, a, True) != key
    assert entry_key("vae", 0, params, a, False) != key
