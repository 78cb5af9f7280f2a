"""End-to-end runs through the command-line entry point, and its one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from musiclust.cli import run_experiments_main


def _run(args, capsys):
    code = run_experiments_main(args + ["--no-progress", "--no-cache"])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_end_to_end_on_small_corpus(small_corpus, tmp_path, capsys):
    out_dir = tmp_path / "results"
    code, out, err = _run(["--data-path", str(small_corpus), "--output-dir", str(out_dir), "--seeds", "0", "1"],
                          capsys)
    assert code == 0, err
    run_dirs = [p for p in out_dir.iterdir() if p.is_dir() and p.name.startswith("corpus-")]
    assert len(run_dirs) == 1
    run_dir = run_dirs[0]
    assert str(run_dir) in out and "NMI(style)" in out
    for name in ["config.json", "metrics.csv", "summary.csv", "latents.npz", "tracks.csv", "skipped.csv",
                 "figures/raw_tsne.png", "figures/raw_umap.png", "figures/pca_tsne.png", "figures/pca_umap.png"]:
        assert (run_dir / name).is_file(), name
    assert (out_dir / "clustering_metrics.csv").is_file()
    assert len(list((out_dir / "latent_visualization").glob(f"{run_dir.name}_*.png"))) == 4

    m = pd.read_csv(run_dir / "metrics.csv")
    # 2 representations x 2 clusterers x 2 seeds
    assert len(m) == 8 and set(m["representation"]) == {"raw", "pca"}
    metric_cols = ["silhouette", "calinski_harabasz", "davies_bouldin"] + [
        f"{mt}_{lab}" for lab in ("style", "language") for mt in ("ari", "nmi", "purity", "acc")]
    assert np.isfinite(m[metric_cols].to_numpy()).all()
    assert (m["k"] == 3).all()
    info = json.loads((run_dir / "config.json").read_text())
    assert info["config"]["seeds"] == [0, 1] and info["versions"]["scikit-learn"]
    assert info["resolved"]["label_columns"] == ["style", "language"]

    # a second run gets its own folder; the shared CSV keeps both runs' rows
    code, _, _ = _run(["--data-path", str(small_corpus), "--output-dir", str(out_dir), "--seeds", "0", "--no-plots"],
                      capsys)
    assert code == 0
    runs = sorted(p for p in out_dir.iterdir() if p.is_dir() and p.name.startswith("corpus-"))
    assert len(runs) == 2
    shared = pd.read_csv(out_dir / "clustering_metrics.csv")
    assert shared["run_id"].nunique() == 2 and len(shared) == 8 + 4


@pytest.mark.parametrize("args,needle", [
    (["--dataset", "spotify"], "unknown dataset 'spotify'"),
    (["--dataset", "gtzan", "--data-path", "/nonexistent/gtzan"], "download_gtzan.py"),
    (["--k", "50"], "larger than the number of tracks"),
    (["--representations", "tsne"], "unknown representation"),
])
def test_bad_input_is_one_line_and_nonzero(small_corpus, tmp_path, capsys, args, needle):
    if "--dataset" not in args:
        args = args + ["--data-path", str(small_corpus)]
    code, _, err = _run(args + ["--output-dir", str(tmp_path)], capsys)
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1


def test_table_errors(tmp_path, capsys):
    path = tmp_path / "t.csv"
    pd.DataFrame({"f": [1.0, 2.0, 3.0], "label": ["a", "a", "a"]}).to_csv(path, index=False)
    code, _, err = _run(["--dataset", "table", "--data-path", str(path), "--output-dir", str(tmp_path)], capsys)
    assert code == 2 and "single class" in err
    code, _, err = _run(["--dataset", "table", "--data-path", str(path), "--label-column", "genre",
                         "--output-dir", str(tmp_path)], capsys)
    assert code == 2 and "no label column" in err


def test_table_run_on_kaggle_features(shared_data, tmp_path, capsys):
    code, out, err = _run(["--dataset", "table", "--data-path", str(shared_data / "gtzan" / "features_30_sec.csv"),
                           "--output-dir", str(tmp_path), "--seeds", "0", "--no-plots"], capsys)
    assert code == 0, err
    m = pd.read_csv(next(tmp_path.glob("table-*")) / "metrics.csv")
    km = m[(m["representation"] == "raw") & (m["clusterer"] == "kmeans")]
    # K-Means on standardized GTZAN features is far above chance (NMI ~0.3; chance is ~0.02)
    assert km["nmi_label"].iloc[0] > 0.2


def test_script_exits_nonzero_with_one_line(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "run_experiments.py"), "--dataset", "nope",
                           "--output-dir", str(tmp_path)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: unknown dataset 'nope'")
