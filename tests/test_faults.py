"""Bad input, each case reproduced by a hostile-input session (issue 10): a clear one-line error or a recorded skip,
never a traceback from inside a library, never lost or overwritten results."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runs import only_run, run_cli
from conftest import REPO

from musiclust.cli import download_gtzan_main

FAST = ["--models", "raw", "--clusterers", "kmeans", "--no-plots", "--no-progress", "--no-cache", "--seeds", "0"]


@pytest.fixture(scope="module")
def collection(small_corpus, tmp_path_factory) -> Path:
    """A user's flat audio folder: the 12 real pieces of the small corpus, with a metadata table beside it."""
    root = tmp_path_factory.mktemp("collection")
    (root / "songs").mkdir()
    manifest = pd.read_csv(small_corpus / "manifest.csv", keep_default_na=False)
    rows = []
    for r in manifest.itertuples(index=False):
        name = f"{r.track_id}.wav"
        shutil.copyfile(
            Path(r.audio_path) if Path(r.audio_path).is_absolute() else small_corpus / r.audio_path,
            root / "songs" / name,
        )
        rows.append(
            {"file": f"songs/{name}", "genre": r.style, "language": r.language, "lyrics": r.lyrics, "title": r.title}
        )
    pd.DataFrame(rows).to_csv(root / "meta.csv", index=False)
    return root


def _folder(data_path: str, metadata: str, *args: str) -> list[str]:
    """Command-line arguments of a ``folder`` run on ``data_path`` with its ``metadata`` table."""
    return ["--dataset", "folder", "--data-path", data_path, "--metadata", metadata, *args]


def _run(args, capsys):
    return run_cli(args, capsys)


def _only_run(out_dir: Path) -> Path:
    return only_run(out_dir, "folder-")


# 1. Blank label cells -------------------------------------------------------------------------------------------
def test_blank_label_cells_leave_those_tracks_out_of_that_label_only(collection, tmp_path, capsys):
    meta = pd.read_csv(collection / "meta.csv", keep_default_na=False)
    meta.loc[[0, 5], "genre"] = ""  # two tracks without a genre
    meta.to_csv(tmp_path / "meta.csv", index=False)
    out = tmp_path / "out"
    code, _, err = _run(
        _folder(str(collection), str(tmp_path / "meta.csv"), "--output-dir", str(out), *FAST),
        capsys,
    )
    assert code == 0, err
    run_dir = _only_run(out)
    m = pd.read_csv(run_dir / "metrics.csv")
    genre = m[m["target"] == "genre"].iloc[0]
    lang = m[m["target"] == "language"].iloc[0]
    assert genre["n_tracks"] == 12 and genre["n_labelled"] == 10 and "2 tracks without a genre label" in genre["note"]
    assert lang["n_labelled"] == 12
    info = json.loads((run_dir / "config.json").read_text())
    assert info["resolved"]["unlabelled"]["genre"] == 2
    assert sum(info["resolved"]["class_counts"]["genre"].values()) == 10


def test_an_early_error_leaves_no_run_folder(collection, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = _run(
        _folder(
            str(collection), str(collection / "meta.csv"), "--label-column", "mood", "--output-dir", str(out), *FAST
        ),
        capsys,
    )
    assert code == 2 and err.count("\n") == 1 and "no label column 'mood'" in err
    assert not [p for p in out.iterdir() if p.is_dir()] if out.exists() else True


# 2. Single-class labels -----------------------------------------------------------------------------------------
def test_single_class_labels_are_skipped_with_a_reason(collection, tmp_path, capsys):
    meta = pd.read_csv(collection / "meta.csv", keep_default_na=False)
    meta["mood"] = "calm"  # a secondary label with one class
    meta["language"] = "und"  # language all undetermined
    meta.to_csv(tmp_path / "meta.csv", index=False)
    out = tmp_path / "out"
    code, _, err = _run(
        _folder(
            str(collection),
            str(tmp_path / "meta.csv"),
            "--label-column",
            "genre",
            "--label-column",
            "mood",
            "--label-column",
            "language",
            "--output-dir",
            str(out),
            *FAST,
        ),
        capsys,
    )
    assert code == 0, err
    run_dir = _only_run(out)
    info = json.loads((run_dir / "config.json").read_text())
    skipped = {s["label"]: s["reason"] for s in info["resolved"]["labels_skipped"]}
    assert "single class ('calm')" in skipped["mood"] and "all blank or unknown" in skipped["language"]
    assert info["resolved"]["label_columns"] == ["genre"]
    assert set(pd.read_csv(run_dir / "metrics.csv")["target"]) == {"genre"}
    report = (run_dir / "report.md").read_text()
    assert "Label mood not evaluated: a single class" in report and "Label language not evaluated" in report
    assert (run_dir / "report.pdf").stat().st_size > 10_000  # typeset even without figures (--no-plots)
    # a single-class primary label and nothing else: one line, no run folder
    code, _, err = _run(
        _folder(
            str(collection),
            str(tmp_path / "meta.csv"),
            "--label-column",
            "mood",
            "--output-dir",
            str(tmp_path / "out2"),
            *FAST,
        ),
        capsys,
    )
    assert code == 2 and err.count("\n") == 1 and "no label column has two classes" in err


# 3. Concurrent runs sharing results/clustering_metrics.csv ------------------------------------------------------
def test_two_processes_appending_to_the_shared_csv_lose_no_rows(tmp_path):
    shared = tmp_path / "clustering_metrics.csv"
    script = (
        "import sys, pandas as pd\n"
        "from musiclust.experiment import append_csv_locked\n"
        "from pathlib import Path\n"
        "who = sys.argv[1]\n"
        "for i in range(25):\n"
        "    cols = {'run_id': [who] * 3, 'i': [i] * 3, 'nmi': [0.5] * 3}\n"
        "    if who == 'b': cols['extra_' + who] = [1] * 3  # runs may differ in columns\n"
        "    append_csv_locked(Path(sys.argv[2]), pd.DataFrame(cols))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, who, str(shared)]) for who in ("a", "b")]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    df = pd.read_csv(shared)
    assert len(df) == 150 and set(df["run_id"]) == {"a", "b"}
    assert (df.groupby("run_id")["i"].nunique() == 25).all()
    assert df["nmi"].eq(0.5).all()  # no junk rows, no half-written lines
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob("*unreadable*"))


# 4. Damaged archives ---------------------------------------------------------------------------------------------
def _gtzan_like_tar(path: Path) -> None:
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w:gz") as tf:
        for i in range(4):
            data = rng.bytes(200_000)  # incompressible, so truncation cuts a member
            info = tarfile.TarInfo(f"genres/blues/blues.0000{i}.au")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def _zip(path: Path) -> None:
    rng = np.random.default_rng(1)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for i in range(3):
            zf.writestr(f"Data/genres_original/jazz/jazz.0000{i}.wav", rng.bytes(50_000))


@pytest.mark.parametrize("kind", ["truncated tar.gz", "truncated zip", "zip with a bad CRC"])
def test_damaged_archives_give_one_line_and_extract_nothing(kind, tmp_path, capsys):
    if kind == "truncated tar.gz":
        archive = tmp_path / "genres.tar.gz"
        _gtzan_like_tar(archive)
        archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    else:
        archive = tmp_path / "gtzan.zip"
        _zip(archive)
        data = bytearray(archive.read_bytes())
        if kind == "truncated zip":
            data = data[: len(data) // 2]
        else:
            at = data.index(b"jazz.00001.wav") + len("jazz.00001.wav") + 100  # a byte inside the second member
            data[at] ^= 0xFF
        archive.write_bytes(bytes(data))
    dest = tmp_path / "gtzan"
    code = download_gtzan_main(["--from-archive", str(archive), "--dest", str(dest), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ") and "nothing was extracted" in err
    assert not dest.exists() or not any(dest.rglob("*")), list(dest.rglob("*"))
    assert not list(tmp_path.glob(".*extracting*"))  # the staging folder is gone too


def test_a_good_archive_still_extracts(tmp_path):
    archive = tmp_path / "genres.tar.gz"
    _gtzan_like_tar(archive)
    from musiclust.datasets.download import extract

    names = extract(archive, tmp_path / "out")
    assert len(names) == 4 and len(list((tmp_path / "out" / "genres" / "blues").iterdir())) == 4


# 5. Cache entries of the wrong shape or keys ---------------------------------------------------------------------
def test_cache_entries_of_the_wrong_shape_or_keys_are_recomputed(shared_data, tmp_path):
    from musiclust.features import audio
    from musiclust.features.cache import FeatureCache, content_key, entry_key
    from musiclust.features.engine import extract

    clip = str(sorted((shared_data / "gtzan" / "clips").glob("*.wav"))[0])
    cache = FeatureCache(tmp_path / "cache")
    key = entry_key(content_key(clip), "mfcc", audio.FEATURE_PARAMS)
    first = extract([clip], "mfcc", n_jobs=1, progress=False, cache=cache)
    for bad in (
        {"values": np.zeros(7)},
        {"values": np.zeros((40, 2))},
        {"other": np.zeros(40)},
        {"values": np.zeros(40), "columns": np.array(["a", "b"])},
    ):
        cache.save("mfcc", key, **bad)
        again = extract([clip], "mfcc", n_jobs=1, progress=False, cache=cache)
        assert again.n_cached == 0 and again.X.shape == (1, 40)
        np.testing.assert_allclose(again.X, first.X)
        assert cache.load("mfcc", key, (40,)) is not None  # the entry was rewritten correctly
    assert extract([clip], "mfcc", n_jobs=1, progress=False, cache=cache).n_cached == 1


# 6. Unusable --output-dir ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["file", "not writable"])
def test_unusable_output_dir_fails_before_any_work(where, collection, tmp_path, capsys):
    if where == "file":
        target = tmp_path / "results.txt"
        target.write_text("not a folder")
    else:
        target = Path("/proc/self/musiclust-results")  # not writable even for root
    code, out, err = _run(
        _folder(str(collection), str(collection / "meta.csv"), "--output-dir", str(target), *FAST),
        capsys,
    )
    assert code == 2 and err.count("\n") == 1 and "--output-dir" in err
    assert ("is a file" in err) if where == "file" else ("not writable" in err)
    assert "pairing" not in out  # failed before loading anything


# 7. Duplicate keys ------------------------------------------------------------------------------------------------
def test_duplicate_metadata_keys_warn_keep_the_first_row_and_say_so(collection, tmp_path, caplog):
    from musiclust.datasets import load_dataset

    meta = pd.read_csv(collection / "meta.csv", keep_default_na=False)
    dup = meta.iloc[[3]].assign(genre="WRONG")
    pd.concat([meta, dup], ignore_index=True).to_csv(tmp_path / "meta.csv", index=False)
    with caplog.at_level(logging.WARNING):
        ds = load_dataset("folder", path=str(collection), metadata=str(tmp_path / "meta.csv"))
    assert "duplicate key" in caplog.text and meta["file"][3] in caplog.text
    assert len(ds) == 12 and "WRONG" not in set(ds.tracks["genre"])
    reasons = [s["reason"] for s in ds.skipped]
    assert len(reasons) == 1 and reasons[0].startswith("duplicate key")
    assert ds.info["pairing"]["duplicate_keys"] == 1 and ds.info["pairing"]["metadata_without_audio"] == 0


def test_duplicate_lyrics_keys_are_not_reported_as_lyrics_without_audio(tmp_path, caplog):
    from musiclust.datasets.base import Dataset
    from musiclust.datasets.lyrics import attach_lyrics, read_lyrics_table

    tracks = pd.DataFrame({"track_id": ["s1", "s2"], "genre": ["a", "b"]})
    pd.DataFrame(
        {
            "track_id": ["s1", "s2", "s1"],
            "lyrics": ["first text", "second text", "imposter text"],
            "language": ["en", "en", "de"],
        }
    ).to_csv(tmp_path / "lyr.csv", index=False)
    with caplog.at_level(logging.WARNING):
        ds = attach_lyrics(Dataset("t", tracks, ["genre"], "genre"), read_lyrics_table(tmp_path / "lyr.csv"))
    assert "duplicate key" in caplog.text and "s1" in caplog.text
    assert ds.tracks["lyrics"].tolist() == ["first text", "second text"]
    assert [s["reason"][:13] for s in ds.skipped] == ["duplicate key"]
    assert ds.info["pairing"]["lyrics_only"] == 0


# 8. Lyrics-table ids that are paths ------------------------------------------------------------------------------
def test_lyrics_ids_that_are_paths_match_track_ids_by_stem(tmp_path):
    from musiclust.datasets.base import Dataset
    from musiclust.datasets.lyrics import attach_lyrics, read_lyrics_table

    tracks = pd.DataFrame({"track_id": ["song_1", "song_2", "song_3"], "genre": ["a", "b", "a"]})
    pd.DataFrame(
        {
            "path": ["bangla/song_1.mp3", "english\\song_2.MP3", "other/song_9.mp3"],
            "lyrics": ["আমার সোনার বাংলা", "hello world", "nobody's"],
        }
    ).to_csv(tmp_path / "l.csv", index=False)
    ds = attach_lyrics(Dataset("t", tracks, ["genre"], "genre"), read_lyrics_table(tmp_path / "l.csv"))
    assert ds.tracks["lyrics"].tolist() == ["আমার সোনার বাংলা", "hello world", ""]
    assert ds.info["pairing"]["matched"] == 2 and ds.info["pairing"]["lyrics_only"] == 1


# 9. summary.csv counts -------------------------------------------------------------------------------------------
def test_summary_counts_finite_seeds_and_degenerate_clusterings():
    from musiclust.evaluation import summarize

    metrics = pd.DataFrame(
        {
            "representation": ["raw"] * 3,
            "clusterer": ["dbscan"] * 3,
            "seed": [0, 1, 2],
            "target": ["genre"] * 3,
            "k": [np.nan] * 3,
            "n_clusters_found": [3, 1, 0],
            "noise_fraction": [0.1, 0.2, 1.0],
            "nmi": [0.4, np.nan, np.nan],
            "ari": [0.2, np.nan, np.nan],
            "note": ["", "only one", "all noise"],
        }
    )
    s = summarize(metrics).iloc[0]
    assert s["n_seeds"] == 1 and s["n_degenerate"] == 2 and s["nmi_mean"] == pytest.approx(0.4)


# 10. Random bytes named .wav; a silent file ---------------------------------------------------------------------
def test_random_bytes_named_wav_and_silent_files_are_skipped_with_their_reasons(collection, tmp_path, capsys):
    import soundfile as sf

    from musiclust.features import audio

    junk = tmp_path / "junk.wav"
    junk.write_bytes(np.random.default_rng(0).bytes(4096).replace(b"\xff", b"\x00"))
    with pytest.raises(audio.AudioDecodeError, match="not a recognised audio format"):
        audio.decode(str(junk))
    silent, quiet = tmp_path / "silent.wav", tmp_path / "quiet.wav"
    sf.write(silent, np.zeros((22050 * 5, 2)), 22050, subtype="PCM_16")  # digital silence, stereo
    sf.write(quiet, 1e-3 * np.sin(np.arange(22050 * 5) / 7.0), 22050)  # -60 dBFS: quiet, but music can be
    with pytest.raises(audio.AudioDecodeError, match=r"silent: all 5\.0 s of audio are below -90 dBFS"):
        audio.decode(str(silent))
    assert np.abs(audio.decode(str(quiet))[0]).max() > 5e-4
    folder = tmp_path / "coll"
    shutil.copytree(collection, folder)
    shutil.copyfile(junk, folder / "songs" / "junk.wav")
    shutil.copyfile(silent, folder / "songs" / "silent.wav")
    meta = pd.read_csv(folder / "meta.csv", keep_default_na=False)
    extra = meta.iloc[[0, 0]].assign(file=["songs/junk.wav", "songs/silent.wav"])
    pd.concat([meta, extra], ignore_index=True).to_csv(folder / "meta.csv", index=False)
    code, _, err = _run(
        _folder(str(folder), str(folder / "meta.csv"), "--output-dir", str(tmp_path / "out"), *FAST),
        capsys,
    )
    assert code == 0, err
    skipped = pd.read_csv(_only_run(tmp_path / "out") / "skipped.csv")
    row = skipped[skipped["item"].str.endswith("junk.wav")].iloc[0]
    assert "not a recognised audio format" in row["reason"] and "regular file" not in row["reason"]
    assert skipped[skipped["item"].str.endswith("silent.wav")]["reason"].str.startswith("silent: ").all()
    assert skipped["item"].str.endswith("silent.wav").sum() == 1


# 11. No TensorFlow C++ chatter -----------------------------------------------------------------------------------
def test_cpp_log_lines_are_filtered_and_python_warnings_kept():
    from musiclust.logs import without_cpp_log_lines

    text = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1795757239.958362    6778 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n"
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the "
        "appropriate compiler flags.\n"
        "E0000 00:00:1712345678.123456   12345 cuda_driver.cc:152] failed call to cuInit: UNKNOWN ERROR (303)\n"
        "2024-03-01 10:00:00.000000: E external/local_xla/xla/stream_executor/cuda/cuda_driver.cc:282] failed "
        "call to cuInit: UNKNOWN ERROR (303)\n"
        "/x/y.py:3: UserWarning: a real warning\n"
    )
    assert without_cpp_log_lines(text) == ["/x/y.py:3: UserWarning: a real warning"]


@pytest.mark.slow
def test_a_normal_run_prints_no_tensorflow_cpp_lines(collection, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ABSL_", "GRPC_"))}
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "run_experiments.py"),
            "--dataset",
            "folder",
            "--data-path",
            str(collection),
            "--metadata",
            str(collection / "meta.csv"),
            # two models train in two worker processes; UMAP (which imports TensorFlow) runs in the main one
            "--models",
            "raw",
            "ae",
            "vae",
            "--clusterers",
            "kmeans",
            "umap_kmeans",
            "--seeds",
            "0",
            "--epochs",
            "2",
            "--no-cache",
            "--output-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    everything = proc.stdout + proc.stderr
    for noise in ("cuInit", "absl", "cudart_stub", "oneDNN", "I0000", "E0000", "W0000"):
        assert noise not in everything, noise
    assert "results written to" in proc.stdout


# --- round two (issue 18) --------------------------------------------------------------------------------------------
def _signal_audio(root: Path, names: list[str], source: Path) -> None:
    """Real audio under the given names (copies of one corpus piece)."""
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / name)


# No user row is dropped unless it is an exact duplicate
def test_features_table_keys_differing_only_by_case_keep_every_row(tmp_path, capsys):
    """GTZAN + BanglaBeats: 'Hiphop.00000.wav' (BanglaBeats) and 'hiphop.00000.wav' (GTZAN) are two tracks."""
    from musiclust.datasets import load_dataset

    rng = np.random.default_rng(0)
    names = [f"hiphop.{i:05d}.wav" for i in range(40)] + [f"Hiphop.{i:05d}.wav" for i in range(40)]
    table = pd.DataFrame(rng.normal(size=(80, 4)), columns=["f1", "f2", "f3", "f4"])
    table.insert(0, "filename", names)
    table["label"] = ["hiphop"] * 40 + ["bangla_hiphop"] * 40
    repeated = table.iloc[[5]].assign(f1=99.0)  # the same id, a different row: kept
    exact = table.iloc[[7]]  # every cell equal to row 7: the only row that may go
    pd.concat([table, repeated, exact], ignore_index=True).to_csv(tmp_path / "t.csv", index=False)
    ds = load_dataset("table", path=str(tmp_path / "t.csv"))
    assert len(ds) == 81 and ds.tracks["track_id"].is_unique
    assert {"hiphop.00003.wav", "Hiphop.00003.wav", "hiphop.00005.wav#82"} <= set(ds.tracks["track_id"])
    assert [s["reason"] for s in ds.skipped] == ["exact duplicate: every cell equals an earlier row's"]


def test_folder_keys_exact_first_then_unique_case_spaces_and_unicode_forms(small_corpus, tmp_path):
    import unicodedata

    from musiclust.datasets import load_dataset

    piece = next((small_corpus / "audio").glob("*.wav"))
    nfd = unicodedata.normalize("NFD", "Café Müller.wav")  # as macOS stores it
    files = ["Song.wav", "song.wav", nfd, " lead space.wav", "a/dup.wav", "b/dup.wav", "Other.WAV"]
    _signal_audio(tmp_path / "music", files, piece)
    meta = pd.DataFrame(
        {
            "file": ["Song.wav", "song.wav", "Café Müller.wav", " lead space.wav", "dup.wav", "other.wav"],
            "genre": ["x", "y", "x", "y", "x", "y"],
        }
    )
    meta.to_csv(tmp_path / "meta.csv", index=False)
    ds = load_dataset("folder", path=str(tmp_path / "music"), metadata=str(tmp_path / "meta.csv"))
    paired = {Path(p).name: g for p, g in zip(ds.tracks["audio_path"], ds.tracks["genre"])}
    assert paired["Song.wav"] == "x" and paired["song.wav"] == "y"  # two rows, two files, never merged
    assert paired[nfd] == "x" and paired[" lead space.wav"] == "y" and paired["Other.WAV"] == "y"
    reasons = {s["item"]: s["reason"] for s in ds.skipped}
    ambiguous = next(r for item, r in reasons.items() if "dup.wav" in item and "metadata row" in item)
    assert ambiguous.startswith("ambiguous") and "a/dup.wav" in ambiguous and "b/dup.wav" in ambiguous


def test_lyrics_table_rows_with_one_id_are_all_kept(tmp_path):
    from musiclust.datasets import load_dataset

    rows = [
        {"track_id": "t1", "lyrics": "love you baby tonight", "language": "en"},
        {"track_id": "T1", "lyrics": "ich liebe dich heute nacht", "language": "de"},
        {"track_id": "t1", "lyrics": "another song entirely here", "language": "en"},
        {"track_id": "t1", "lyrics": "love you baby tonight", "language": "en"},  # exact duplicate of the first
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "l.csv", index=False)
    ds = load_dataset("lyrics", path=str(tmp_path / "l.csv"))
    assert len(ds) == 3 and ds.tracks["track_id"].is_unique
    assert [s["reason"] for s in ds.skipped] == ["exact duplicate of an earlier row"]


# Tables and labels
def test_stray_text_cells_and_decimal_commas_keep_their_columns(tmp_path, capsys):
    from musiclust.datasets import load_dataset

    rng = np.random.default_rng(1)
    t = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"]).round(3)
    t["label"] = ["x", "y"] * 20
    t = t.astype({"a": str})
    t.loc[3, "a"] = "n/a"
    t.loc[9, "a"] = "NaN"
    t.to_csv(tmp_path / "na.csv", index=False)
    ds = load_dataset("table", path=str(tmp_path / "na.csv"))
    assert ds.info["feature_selection"]["used"] == ["a", "b", "c"] and len(ds) == 38
    assert "'n/a'" in ds.info["feature_selection"]["notes"][0]
    semi = t.drop(columns="a").astype(str).apply(lambda col: col.str.replace(".", ",", regex=False))
    semi["label"] = t["label"]
    semi.to_csv(tmp_path / "semi.csv", index=False, sep=";")
    code, out, err = _run(
        ["--dataset", "table", "--data-path", str(tmp_path / "semi.csv"), "--output-dir", str(tmp_path / "r"), *FAST],
        capsys,
    )
    assert code == 0, err
    assert "decimal commas" in out  # said, not silent
    info = json.loads((only_run(tmp_path / "r", "table-") / "config.json").read_text())
    assert info["resolved"]["n_features"] == 2


def test_a_column_naming_one_of_four_classes_by_range_is_a_leak(tmp_path):
    from musiclust.datasets import load_dataset

    rng = np.random.default_rng(2)
    labels = np.repeat(["blues", "jazz", "rock", "pop"], 15)
    t = pd.DataFrame(rng.normal(size=(60, 3)), columns=["f1", "f2", "f3"])
    t["genre_code"] = np.repeat([10.0, 20.0, 30.0, 40.0], 15) + rng.uniform(0, 5, 60)  # one range per class
    t["label"] = labels
    t.to_csv(tmp_path / "t.csv", index=False)
    ds = load_dataset("table", path=str(tmp_path / "t.csv"))
    dropped = {d["column"]: d["reason"] for d in ds.info["feature_selection"]["dropped"]}
    assert "genre_code" in dropped and "label leak" in dropped["genre_code"]
    assert ds.info["feature_selection"]["used"] == ["f1", "f2", "f3"]


def test_a_language_column_coded_by_numbers_is_a_label(collection, tmp_path):
    from musiclust.datasets import load_dataset

    meta = pd.read_csv(collection / "meta.csv", keep_default_na=False)
    meta["language"] = [1, 2] * (len(meta) // 2)
    meta.to_csv(tmp_path / "meta.csv", index=False)
    ds = load_dataset("folder", path=str(collection), metadata=str(tmp_path / "meta.csv"))
    assert "language" in ds.label_columns and sorted(ds.tracks["language"].unique()) == ["1", "2"]


# Options and configs
@pytest.mark.parametrize("seed", ["-1", str(2**32)])
def test_out_of_range_seeds_fail_before_a_run_folder(seed, collection, tmp_path, capsys):
    args = _folder(str(collection), str(collection / "meta.csv"), "--output-dir", str(tmp_path / "r"))
    args += [a for a in FAST if a not in ("--seeds", "0")] + ["--seeds", seed]
    code, _, err = _run(args, capsys)
    assert code == 2 and err.count("\n") == 1 and "seeds must be" in err
    assert not any((tmp_path / "r").glob("folder-*"))


def test_repeated_seeds_and_names_run_once(collection, tmp_path, capsys):
    args = _folder(str(collection), str(collection / "meta.csv"), "--output-dir", str(tmp_path))
    args += ["--models", "raw", "raw", "--clusterers", "kmeans", "kmeans", "--seeds", "0", "0", "1"]
    code, out, err = _run(args + ["--no-plots", "--no-progress", "--no-cache"], capsys)
    assert code == 0, err
    assert "given more than once" in out
    m = pd.read_csv(_only_run(tmp_path) / "metrics.csv")
    assert len(m[m["target"] == "genre"]) == 2  # raw + kmeans, seeds 0 and 1, once each


@pytest.mark.parametrize(
    "text,needle",
    [
        ("- 1\n- 2\n", "must be a mapping"),
        ("seeds: '0 1'\n", "'seeds' must be list[int]"),
        ("epochs: many\n", "'epochs' must be int"),
        ("dataset:\n  - folder\n", "'dataset' must be a name or a mapping"),
    ],
)
def test_config_files_of_the_wrong_shape_are_one_line(text, needle, tmp_path, capsys):
    (tmp_path / "c.yaml").write_text(text)
    code, _, err = _run(["--config", str(tmp_path / "c.yaml"), "--output-dir", str(tmp_path)], capsys)
    assert code == 2 and err.count("\n") == 1 and needle in err, err


def test_a_dataset_given_by_name_alone(tmp_path):
    from musiclust.config import ExperimentConfig

    assert ExperimentConfig.from_dict({"dataset": "folder"}).dataset.name == "folder"


# Paths and names
@pytest.mark.parametrize("name", ["../../x", "a/b", "..", " spaced "])
def test_run_names_cannot_leave_the_output_dir(name, collection, tmp_path, capsys):
    out = tmp_path / "deep" / "results"
    args = _folder(str(collection), str(collection / "meta.csv"), "--output-dir", str(out), "--run-name", name)
    code, _, err = _run(args + FAST, capsys)
    assert code == 2 and err.count("\n") == 1 and "--run-name" in err
    assert not [p for p in tmp_path.rglob("*") if p.name not in ("deep", "results")]  # nothing written anywhere


def test_download_dest_that_is_a_file(tmp_path, capsys):
    dest = tmp_path / "gtzan.txt"
    dest.write_text("a file")
    code = download_gtzan_main(["--dest", str(dest), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "is a file" in err


NAMES_WITH_MARKUP = [
    "A$AP `x` @home",
    "*NSYNC_style*",
    "[misc] 50% $uicideboy$",
    "C# <minor> &amp;",
    "folk\\rock ~x~ ^y^",
]


def test_markdown_escaping_reads_back_as_the_same_text():
    import pypandoc

    from musiclust.filenames import file_stem
    from musiclust.report_context import code, md, md_message

    for text in [*NAMES_WITH_MARKUP, "bach_chorale", "R&B", "_under_", "a``b", "`tick"]:
        assert pypandoc.convert_text(md(text), "plain", format="markdown").strip() == text
        assert pypandoc.convert_text(code(text), "plain", format="markdown").strip() == text
    assert md("bach_chorale R&B") == "bach_chorale R&B"  # left readable where pandoc reads them literally
    message = md_message("file /x/$a_/b$ is missing: run `pip install --no-deps musicnn==0.1.0`")
    assert (
        message == "file /x/\\$a\\_/b\\$ is missing: run `pip install --no-deps musicnn==0.1.0`"
    )  # a command stays code
    assert file_stem("genre_tag") == "genre_tag"
    stems = {file_stem(t) for t in ("genre / style", "genre_/_style", "genre _ style", ".hidden", "?")}
    assert len(stems) == 5 and all("/" not in t and " " not in t and not t.startswith(".") for t in stems)


def test_label_names_and_classes_with_markup_reach_figures_and_report_as_written(collection, tmp_path, capsys):
    """A '/' in a label column's name stopped the run at its figures (after all the training); '$' pairs, '*', '@'
    and '<' in class names became formulas, emphasis, a citation that failed the PDF, or vanished."""
    from pypdf import PdfReader

    from musiclust.filenames import comparison_figure

    meta = pd.read_csv(collection / "meta.csv", keep_default_na=False)
    classes = dict(zip(sorted(meta["genre"].unique()), NAMES_WITH_MARKUP + NAMES_WITH_MARKUP))
    meta["genre / style"] = meta.pop("genre").map(classes)
    meta.to_csv(tmp_path / "meta.csv", index=False)
    args = [
        *_folder(str(collection), str(tmp_path / "meta.csv"), "--output-dir", str(tmp_path / "out")),
        *["--label-column", "genre / style", "--label-column", "language"],
        *[a for a in FAST if a != "--no-plots"],
    ]
    code, _, err = _run(args, capsys)
    assert code == 0, err
    run = _only_run(tmp_path / "out")
    assert (run / "figures" / comparison_figure("genre / style")).is_file()
    assert (run / "figures" / "distribution_raw.png").is_file()
    text = " ".join(page.extract_text() for page in PdfReader(run / "report.pdf").pages)
    for name in ["genre / style", *set(classes.values())]:
        assert name in text, name


# Disk full, unwritable
def test_cache_dir_that_is_a_file(collection, tmp_path, capsys):
    (tmp_path / "cache").write_text("a file")
    args = _folder(str(collection), str(collection / "meta.csv"), "--output-dir", str(tmp_path / "r"))
    args += [a for a in FAST if a != "--no-cache"] + ["--cache-dir", str(tmp_path / "cache")]
    code, _, err = _run(args, capsys)
    assert code == 2 and err.count("\n") == 1 and "--cache-dir" in err


def test_a_full_disk_leaves_whole_files_and_an_unfinished_run(collection, tmp_path, capsys, monkeypatch):
    import errno

    real = Path.write_text

    def full_disk(self, data, *a, **k):
        if self.name.startswith(".explorer.html"):
            real(self, data[: len(data) // 2], *a, **k)  # half of it reached the disk ...
            raise OSError(errno.ENOSPC, "No space left on device", str(self))  # ... then the disk was full
        return real(self, data, *a, **k)

    monkeypatch.setattr(Path, "write_text", full_disk)
    args = _folder(str(collection), str(collection / "meta.csv"), "--output-dir", str(tmp_path), *FAST)
    code, _, err = _run(args, capsys)
    assert code == 2 and err.count("\n") == 1 and "No space left on device" in err
    run = _only_run(tmp_path)
    assert not (run / "explorer.html").exists() and not list(run.glob(".explorer.html*"))  # no half file
    assert "finished_utc" not in json.loads((run / "config.json").read_text())
    assert not (tmp_path / "clustering_metrics.csv").exists()


# Interruption
def test_interrupted_during_the_explorer_the_run_says_unfinished(collection, tmp_path, capsys, monkeypatch):
    import musiclust.experiment as experiment

    def interrupted(run_dir):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiment, "write_explorer", interrupted)
    args = _folder(str(collection), str(collection / "meta.csv"), "--output-dir", str(tmp_path), *FAST)
    code, _, err = _run(args, capsys)
    assert code == 130 and "interrupted" in err
    info = json.loads((_only_run(tmp_path) / "config.json").read_text())
    assert "finished_utc" not in info  # it does not look complete ...
    assert not (tmp_path / "clustering_metrics.csv").exists()  # ... and its rows are not in the shared CSV


def test_sigterm_during_feature_extraction_ends_the_workers(small_corpus, tmp_path):
    psutil = pytest.importorskip("psutil")
    import signal
    import time

    args = [sys.executable, str(REPO / "run_experiments.py"), "--data-path", str(small_corpus), "--output-dir"]
    args += [str(tmp_path), "--models", "raw", "--clusterers", "kmeans", "--seeds", "0", "--no-cache", "--n-jobs", "2"]
    args += ["--no-plots", "--no-progress", "--features", "musicnn"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(proc.pid)
    workers: list = []
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        workers = [c for c in parent.children(recursive=True) if "python" in c.name().lower()]
        if workers:
            break
        time.sleep(0.1)
    if not workers:
        proc.kill()
        pytest.skip("the run finished before any worker process started")
    time.sleep(1.0)  # the workers are busy extracting
    workers = parent.children(recursive=True)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "interrupted" in err and "Traceback" not in err
    gone, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive, [p.cmdline()[:3] for p in alive]


# Report of a damaged or empty run
def test_report_only_on_a_truncated_config_or_an_empty_summary(collection, tmp_path, capsys):
    from musiclust.cli import run_experiments_main

    args = _folder(str(collection), str(collection / "meta.csv"), "--output-dir", str(tmp_path), *FAST)
    assert run_experiments_main(args) == 0
    run = _only_run(tmp_path)
    capsys.readouterr()
    text = (run / "config.json").read_text()
    (run / "config.json").write_text(text[: len(text) // 2])
    assert run_experiments_main(["--report-only", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "config.json is damaged" in err
    (run / "config.json").write_text(text)
    summary = pd.read_csv(run / "summary.csv")
    summary.iloc[:0].to_csv(run / "summary.csv", index=False)
    report = (run / "report.md").read_text()
    assert run_experiments_main(["--report-only", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nothing to report" in err
    assert (run / "report.md").read_text() == report  # the earlier report is not overwritten by an empty one
