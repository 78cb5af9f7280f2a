"""Wall time of `python run_experiments.py` on the embedded corpus, in a fresh temporary corpus/cache/results
location: cold (corpus build, features and training included), warm (corpus and features cached, every model trained
again: `--retrain`), repeat (the same study again: its trained models come from the model cache) and --quick.

    python benchmarks/bench_run.py [--skip-cold]

Prints the wall times and where the time goes (config.json's timing_s), and writes benchmarks/results/run.json.
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
    return {
        "wall_s": round(wall, 1),
        "timing_s": info["timing_s"],
        "n_tracks": info["resolved"]["n_tracks"],
        "models_from_cache": len(info["resolved"]["models_from_cache"]),
    }


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
    return 0


if __name__ == "__main__":
    sys.exit(main())
