"""Peak memory and time of an end-to-end run on a 100,000-row synthetic feature table (goal: under 4 GB).

    python benchmarks/bench_scale.py [--rows 100000]

The table is synthetic on purpose -- this measures scaling, not clustering quality: 57 Gaussian features around 10
random centres, label column ``label``. The run uses the `table` dataset with raw, PCA and VAE representations (5
epochs, batch 256) and all five clusterers; the O(n^2) steps (Agglomerative, DBSCAN, HDBSCAN, t-SNE, Silhouette) take
their guarded, subsampled paths. Peak memory is the largest sum of resident memory over the whole process tree,
sampled every 0.2 s. Writes benchmarks/results/scale.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000, help="rows of the synthetic table")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 57)) * 2
    y = rng.integers(0, 10, args.rows)
    X = centres[y] + rng.normal(size=(args.rows, 57))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.csv"
        df = pd.DataFrame(X, columns=[f"f{i}" for i in range(57)])
        df.insert(0, "filename", [f"row{i}" for i in range(args.rows)])
        df["label"] = [f"class{i}" for i in y]
        df.to_csv(path, index=False)
        cmd = [
            sys.executable,
            str(REPO / "run_experiments.py"),
            "--dataset",
            "table",
            "--data-path",
            str(path),
            "--output-dir",
            str(Path(tmp) / "results"),
            "--models",
            "raw",
            "pca",
            "vae",
            "--epochs",
            "5",
            "--batch-size",
            "256",
            "--seeds",
            "0",
            "--no-progress",
        ]
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
        ps = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(ps))
            time.sleep(0.2)
        out, err = proc.communicate()
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            print(err[-2000:])
            return 1
        run_dir = Path(out.strip().splitlines()[-1].split("results written to ")[-1])
        info = json.loads((run_dir / "config.json").read_text())
        notes = pd.read_csv(run_dir / "metrics.csv")["note"].dropna().unique().tolist()
    result = {
        "rows": args.rows,
        "wall_s": round(wall, 1),
        "peak_rss_tree_gb": round(peak / 2**30, 2),
        "timing_s": info["timing_s"],
        "guard_notes": [n for n in notes if "subsample" in n][:3],
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "scale.json").write_text(json.dumps(result, indent=2))
    print(f"{args.rows} rows: {result['wall_s']} s wall, peak memory (process tree) {result['peak_rss_tree_gb']} GB")
    print(f"stages (s): {info['timing_s']}")
    for n in result["guard_notes"]:
        print("guard:", n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
