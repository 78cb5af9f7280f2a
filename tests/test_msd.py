"""The Million Song Dataset loader on real per-track HDF5 files (../shared/data/msd; skipped when absent): mirdata's
expected values for one track, labels from a tagtraum .cls or a CSV, unreadable files skipped with their reason, and a
whole run with its named feature sets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runs import only_run, run_cli

from musiclust.cli import audio_data_loader_main
from musiclust.datasets import load_dataset
from musiclust.datasets.msd import FEATURE_SETS, read_labels, read_track
from musiclust.errors import MusiclustError


@pytest.fixture(scope="module")
def msd_dir(shared_data) -> Path:
    path = shared_data / "msd"
    if not path.is_dir():
        pytest.skip("../shared/data/msd is not present")
    return path


def test_one_track_as_mirdata_reads_it(msd_dir):
    row = read_track(msd_dir / "A" / "A" / "A" / "TRAAAFP128F931B4E3.h5")
    assert row["track_id"] == "TRAAAFP128F931B4E3"
    assert (row["artist"], row["title"]) == ("F.L.Y. (Fast Life Yungstaz)", "Bands")
    assert row["tempo"] == pytest.approx(141.968) and row["duration"] == pytest.approx(246.54322)
    assert (row["key_sin"], row["key_cos"]) == pytest.approx((1.0, 0.0), abs=1e-9)  # key 3 (E flat): a quarter turn
    assert row["artist_term"] == "rap" and row["year"] == 0
    assert all(np.isfinite(row[c]) for c in FEATURE_SETS["msd"])
    assert all(row[f"timbre_std_{d:02d}"] > 0 for d in range(1, 13))


def test_the_folder_with_tagtraum_labels(msd_dir):
    ds = load_dataset("msd", path=str(msd_dir), labels=str(msd_dir / "msd_tagtraum_cd1_subset.cls"))
    assert len(ds) == 101 and ds.skipped == []
    assert ds.label_columns == ["genre", "artist_term", "decade"] and ds.primary_label == "genre"
    assert int(ds.labelled("genre").sum()) == 15  # the .cls rows for these tracks
    cls = {
        ln.split("\t")[0]: ln.split("\t")[1].strip()
        for ln in (msd_dir / "msd_tagtraum_cd1_subset.cls").read_text().splitlines()
        if ln and not ln.startswith("#")
    }
    got = ds.tracks.set_index("track_id")["genre"]
    assert all(got[t] == g for t, g in cls.items())
    assert (ds.tracks["decade"] == "").sum() == (ds.tracks["year"] == 0).sum()  # year 0: unknown, not "0s"
    assert list(ds.features.columns) == FEATURE_SETS["msd"] and len(FEATURE_SETS["msd_timbre"]) == 48
    # no id, title or label among the features
    assert not set(ds.features.columns) & {"track_id", "year", "title", "artist", "genre", "artist_term", "decade"}


def test_label_files_of_every_kind(msd_dir, tmp_path):
    csv = tmp_path / "moods.csv"
    pd.DataFrame({"track_id": ["TRAAAFP128F931B4E3", "TRBDAVU128F423814A"], "mood": ["dark", "bright"]}).to_csv(
        csv, index=False
    )
    ds = load_dataset("msd", path=str(msd_dir), labels=str(csv))
    assert ds.label_columns[0] == "mood" and int(ds.labelled("mood").sum()) == 2
    assert read_labels(msd_dir / "msd_tagtraum_cd1_subset.cls")["genre"].str.len().min() > 0
    nomatch = tmp_path / "other.cls"
    nomatch.write_text("# comment\nTRZZZZZ128F0000000\tJazz\n")
    with pytest.raises(MusiclustError, match="no track id"):
        load_dataset("msd", path=str(msd_dir), labels=str(nomatch))
    broken = tmp_path / "broken.cls"
    broken.write_text("TRAAAFP128F931B4E3 Rap\n")  # a space, not a tab
    with pytest.raises(MusiclustError, match="line 1"):
        load_dataset("msd", path=str(msd_dir), labels=str(broken))


def test_unreadable_files_are_skipped_with_their_reason(msd_dir, tmp_path):
    root = tmp_path / "msd"
    shutil.copytree(msd_dir / "A", root / "A")
    good = next(root.rglob("TR*.h5"))
    (root / "B").mkdir()
    (root / "B" / "TRTRUNC128F0000000.h5").write_bytes(good.read_bytes()[:5000])  # an interrupted copy
    (root / "B" / "TRNOTH5128F0000000.h5").write_text("not hdf5")
    ds = load_dataset("msd", path=str(root))
    assert len(ds) == 1 and ds.label_columns == ["artist_term", "decade"]
    reasons = {s["item"]: s["reason"] for s in ds.skipped}
    assert set(reasons) == {"B/TRTRUNC128F0000000.h5", "B/TRNOTH5128F0000000.h5"}
    assert all("HDF5" in r for r in reasons.values())
    good.unlink()
    with pytest.raises(MusiclustError, match="none of the 2 .h5 files") as err:
        load_dataset("msd", path=str(root))
    assert "\n" not in str(err.value)
    with pytest.raises(MusiclustError, match="millionsongdataset"):
        load_dataset("msd", path=str(tmp_path / "nowhere"))


def test_a_run_on_the_msd_with_its_feature_sets(msd_dir, tmp_path, capsys):
    base = ["--dataset", "msd", "--data-path", str(msd_dir), "--labels", str(msd_dir / "msd_tagtraum_cd1_subset.cls")]
    base += ["--models", "raw", "pca", "--clusterers", "kmeans", "--seeds", "0", "--no-plots", "--no-progress"]
    code, _, err = run_cli([*base, "--output-dir", str(tmp_path / "a")], capsys)
    assert code == 0, err
    run = only_run(tmp_path / "a", "msd-")
    info = json.loads((run / "config.json").read_text())
    assert info["resolved"]["feature_set"] == "msd" and info["resolved"]["n_features"] == 55
    assert info["resolved"]["label_columns"] == ["genre", "artist_term", "decade"]
    assert '"year"' in (run / "explorer.html").read_text()  # the hover shows the year
    code, _, err = run_cli([*base, "--features", "msd_timbre", "--output-dir", str(tmp_path / "b")], capsys)
    assert code == 0, err
    info = json.loads((only_run(tmp_path / "b", "msd-") / "config.json").read_text())
    assert info["resolved"]["feature_set"] == "msd_timbre" and info["resolved"]["n_features"] == 48
    code, _, err = run_cli(["--features", "msd", "--output-dir", str(tmp_path / "c"), "--no-progress"], capsys)
    assert code == 2 and err.startswith("error: ") and "--dataset msd" in err and len(err.strip().splitlines()) == 1


def test_inspect_the_msd(msd_dir, capsys):
    code = audio_data_loader_main(
        ["msd", "--data-path", str(msd_dir), "--labels", str(msd_dir / "msd_tagtraum_cd1_subset.cls")]
    )
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("msd: 101 tracks, genre=3 classes") and "Pop_Rock" in out
