"""Wall time of `python run_experiments.py` on the embedded corpus, in a fresh temporary corpus/cache/results
location: cold (corpus build, features and training included), warm (corpus and features cached, every model trained
again: `--retrain`), repeat (the same study again: its trained models come from the model cache) and --quick.

    python benchmarks/bench_run.py [--skip-cold]

Prints the wall times and where the time goes (config.json's timing_s; and for a run that trained its models, the
seconds its fits took in their workers, ConvVAE and dense models apart), issue 16's cold and warm goals with a verdict
each, and writes benchmarks/results/run.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GOALS_S = {"cold": 300, "warm": 150}  # issue 16's goals for the default study on a 2-core machine (not measurements)


def timed_run(args: list[str], out_dir: Path) -> dict:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(REPO / "run_experiments.py"), "--no-progress", "--output-dir", str(out_dir), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"run failed: {proc.stderr.strip().splitlines()[-1]}")
    run_dir = Path(proc.stdout.strip().splitlines()[-1].split("results written to ")[-1])
    info = json.loads((run_dir / "config.json").read_text())
    out = {
        "wall_s": round(wall, 1),
        "timing_s": info["timing_s"],
        "n_tracks": info["resolved"]["n_tracks"],
        "models_from_cache": len(info["resolved"]["models_from_cache"]),
    }
    if not out["models_from_cache"]:
        # where the training went: each fit's own seconds in its worker (metrics.csv), summed per kind of model
        import pandas as pd

        from musiclust.config import CROP_MODELS
        from musiclust.representations import is_model, split_name

        fits = pd.read_csv(run_dir / "metrics.csv", usecols=["representation", "seed", "fit_seconds"])
        fits = fits.drop_duplicates(["representation", "seed"])
        fits = fits[fits["representation"].map(is_model)]
        conv = fits["representation"].map(lambda name: split_name(name)[0] in CROP_MODELS)
        out["training_worker_s"] = {
            "convvae": round(float(fits.loc[conv, "fit_seconds"].sum()), 1),
            "dense": round(float(fits.loc[~conv, "fit_seconds"].sum()), 1),
            "fits": int(len(fits)),
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-cold", action="store_true", help="reuse music_data/corpus instead of a cold build")
    args = ap.parse_args()
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = REPO / "music_data" / "corpus" if args.skip_cold else tmp / "corpus"
        common = ["--data-path", str(corpus), "--cache-dir", str(tmp / "cache")]
        if not args.skip_cold:
            out["cold"] = timed_run(common, tmp / "results")
        out["warm"] = timed_run(common + ["--retrain"], tmp / "results")
        out["repeat"] = timed_run(common, tmp / "results")
        out["quick"] = timed_run(common + ["--quick", "--retrain"], tmp / "results")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "run.json").write_text(json.dumps(out, indent=2))
    for name, r in out.items():
        print(
            f"{name:>6}: {r['wall_s']:6.1f} s wall for {r['n_tracks']} tracks, {r['models_from_cache']} models "
            f"from the cache; stages (s): {r['timing_s']}"
        )
        if "training_worker_s" in r:
            t = r["training_worker_s"]
            print(
                f"        training: {t['fits']} fits, {t['convvae'] + t['dense']:.0f} worker-seconds "
                f"(ConvVAE {t['convvae']:.0f}, dense models {t['dense']:.0f})"
            )
    for name, goal in GOALS_S.items():
        if name in out:
            wall = out[name]["wall_s"]
            print(f"issue 16: default study {name} <= {goal} s: {wall:.0f} s -> {'met' if wall <= goal else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
