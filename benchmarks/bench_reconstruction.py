"""What the ConvVAE's reconstructions keep, on crops of tracks it never trained on.

    python benchmarks/bench_reconstruction.py [--sets corpus hybrid] [--seeds 0 1 2]

For each set (the embedded corpus; ../shared/data/hybrid_songs when present) and seed, the default ConvVAE
(`ExperimentConfig().model_params("convvae")`) trains on all tracks but a held-out tenth; for the middle 3-s crop of
each held-out track it reports the squared error (dB²), the onset-envelope correlation and the harmonic-detail
correlation (`musiclust.reconstruction_metrics`), beside two references that need no model: the training set's mean
spectrum and the crop's own time-averaged spectrum (what a blurred reconstruction keeps at best). It also trains
the same model with a unit-variance decoder, to measure what the calibrated decoder (sigma-VAE) changes.
Writes benchmarks/results/reconstruction.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def measures(crops: np.ndarray, rec: np.ndarray) -> dict:
    from musiclust.reconstruction_metrics import harmonic_detail_correlation, onset_correlation

    def median(values):  # None where no crop has a value (a constant reference has no onset envelope)
        values = values[np.isfinite(values)]
        return float(np.median(values)) if len(values) else None

    return {
        "mse_db2": float(np.mean((rec - crops) ** 2)),
        "onset_correlation": median(onset_correlation(crops, rec)),
        "harmonic_detail_correlation": median(harmonic_detail_correlation(crops, rec)),
    }


def run(name: str, logmel, seeds: list[int]) -> dict:
    from musiclust.config import ExperimentConfig
    from musiclust.models import LatentModel

    n = len(logmel)
    held = np.sort(np.random.default_rng(1234).permutation(n)[: max(8, n // 10)])
    train = np.setdiff1d(np.arange(n), held)
    clips = np.asarray(logmel, dtype=np.float32)
    start = (clips.shape[2] - 128) // 2
    crops = np.ascontiguousarray(clips[held, :, start : start + 128])
    mean_spectrum = np.broadcast_to(clips[train].mean(axis=(0, 2), keepdims=True), crops.shape)
    own_average = np.broadcast_to(crops.mean(axis=2, keepdims=True), crops.shape)
    out = {
        "n_train": len(train),
        "n_held_out": len(held),
        "mean_spectrum": measures(crops, mean_spectrum),
        "own_time_average": measures(crops, own_average),
    }
    params = ExperimentConfig().model_params("convvae")
    for likelihood in ("calibrated", "unit"):
        rows = []
        for seed in seeds:
            t = time.perf_counter()
            m = LatentModel("convvae", seed=seed, likelihood=likelihood, **params).fit(clips[train])
            rows.append({**measures(crops, m.reconstruct(crops)), "fit_s": time.perf_counter() - t})
            print(f"  {name} {likelihood} seed {seed}: {rows[-1]}", flush=True)
        out[f"convvae_{likelihood}"] = {
            k: [float(np.mean([r[k] for r in rows])), float(np.std([r[k] for r in rows]))] for k in rows[0]
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["corpus", "hybrid"], choices=["corpus", "hybrid"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    import bench_quality

    from musiclust.logs import import_tensorflow

    import_tensorflow()
    results = {}
    for name in args.sets:
        data = {"corpus": bench_quality.corpus_set, "hybrid": bench_quality.hybrid_set}[name]()
        if data is None:
            print(f"{name}: data not present, skipped")
            continue
        results[name] = run(name, data["inputs"].logmel, args.seeds)
        r = results[name]
        print(f"\n{name}: {r['n_held_out']} held-out tracks, middle 3-s crop, median over crops, mean ± std over seeds")
        for key in ("mean_spectrum", "own_time_average"):
            v = r[key]
            onsets = "  n/a" if v["onset_correlation"] is None else f"{v['onset_correlation']:5.2f}"
            print(
                f"  {key:<20} mse {v['mse_db2']:6.1f}  onsets {onsets}  "
                f"harmonic detail {v['harmonic_detail_correlation']:5.2f}"
            )
        for key in ("convvae_calibrated", "convvae_unit"):
            v = r[key]
            print(
                f"  {key:<20} mse {v['mse_db2'][0]:6.1f} ± {v['mse_db2'][1]:.1f}  onsets "
                f"{v['onset_correlation'][0]:5.2f} ± {v['onset_correlation'][1]:.2f}  harmonic detail "
                f"{v['harmonic_detail_correlation'][0]:5.2f} ± {v['harmonic_detail_correlation'][1]:.2f}"
            )
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "reconstruction.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
