"""Downloads against a local HTTP server on 127.0.0.1 that the tests start themselves; lyrics sources and pairing."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from musiclust.cli import run_experiments_main
from musiclust.datasets import gtzan, load_dataset, lyrics
from musiclust.datasets.download import RemoteFile, download, extract
from musiclust.errors import MusiclustError

SR = 22050


def _au_bytes(freq: float) -> bytes:
    buf = io.BytesIO()
    t = np.arange(SR // 2) / SR
    sf.write(buf, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), SR, format="AU", subtype="PCM_16")
    return buf.getvalue()


def gtzan_tarball() -> bytes:
    """A tiny archive in GTZAN's original layout (real AU audio written by soundfile)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for g, genre in enumerate(("blues", "metal")):
            for i in range(2):
                data = _au_bytes(200 + 100 * g + 10 * i)
                info = tarfile.TarInfo(f"genres/{genre}/{genre}.{i:05d}.au")
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Server:
    """Serves byte strings by path, honours Range, and can cut the first response short (an interruption)."""

    def __init__(self, files: dict[str, bytes], flaky: set[str] = frozenset()):
        self.files, self.flaky, self.log = files, set(flaky), []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.log.append((self.path, self.headers.get("Range")))
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in server.flaky:  # send half, then drop the connection
                    server.flaky.discard(self.path)
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def tarball():
    data = gtzan_tarball()
    return data, hashlib.md5(data).hexdigest()


def test_clean_download_extracts_and_is_idempotent(tmp_path, tarball):
    data, md5 = tarball
    with Server({"/g/genres.tar.gz": data}) as srv:
        mirrors = [f"{srv.url}/g/genres.tar.gz"]
        root = gtzan.download(tmp_path / "gtzan", mirrors=mirrors, md5=md5, progress=False, default_mirrors=False)
        n_requests = len(srv.log)
        assert gtzan.download(root, mirrors=mirrors, md5=md5, progress=False, default_mirrors=False) == root
        assert len(srv.log) == n_requests  # the second run did nothing
    ds = load_dataset("gtzan", path=str(root))
    assert len(ds) == 4 and set(ds.tracks["genre"]) == {"blues", "metal"}
    assert not list((root / "downloads").glob("*.part"))
    missing, invalid = gtzan.validate(root)
    assert len(missing) == 1000 - 4 and invalid == []


def test_interrupted_download_resumes_with_range(tmp_path, tarball):
    data, md5 = tarball
    remote = RemoteFile("genres.tar.gz", ("URL",), f"md5:{md5}")
    with Server({"/g/genres.tar.gz": data}, flaky={"/g/genres.tar.gz"}) as srv:
        remote = RemoteFile("genres.tar.gz", (f"{srv.url}/g/genres.tar.gz",), f"md5:{md5}")
        with pytest.raises(MusiclustError, match="again to resume"):
            download(remote, tmp_path, progress=False)
        part = tmp_path / "genres.tar.gz.part"
        assert part.exists() and 0 < part.stat().st_size < len(data)
        assert not (tmp_path / "genres.tar.gz").exists()  # nothing that looks complete
        path = download(remote, tmp_path, progress=False)
        assert srv.log[-1][1] == f"bytes={len(data) // 2}-"  # the second request resumed
    assert path.read_bytes() == data and not part.exists()


def test_corrupt_archive_fails_its_checksum_and_leaves_nothing(tmp_path, tarball):
    data, md5 = tarball
    with Server({"/bad/genres.tar.gz": data[:-10] + b"0123456789"}) as srv:
        with pytest.raises(MusiclustError, match="checksum mismatch") as err:
            gtzan.download(
                tmp_path / "gtzan",
                mirrors=[f"{srv.url}/bad/genres.tar.gz"],
                md5=md5,
                progress=False,
                default_mirrors=False,
            )
    assert "opihi" not in str(err.value)  # only the local server was tried
    leftovers = [p.name for p in (tmp_path / "gtzan" / "downloads").iterdir()]
    assert leftovers == []
    assert not (tmp_path / "gtzan" / gtzan.COMPLETE_MARKER).exists()


def test_404_on_the_first_mirror_falls_back_to_the_next(tmp_path, tarball):
    data, md5 = tarball
    with Server({"/good/genres.tar.gz": data}) as srv:
        root = gtzan.download(
            tmp_path / "gtzan",
            mirrors=[f"{srv.url}/missing/genres.tar.gz", f"{srv.url}/good/genres.tar.gz"],
            md5=md5,
            progress=False,
            default_mirrors=False,
        )
        assert [p for p, _ in srv.log] == ["/missing/genres.tar.gz", "/good/genres.tar.gz"]
    assert len(load_dataset("gtzan", path=str(root))) == 4


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_archive_entries_escaping_the_target_are_refused(tmp_path, kind):
    evil = tmp_path / f"evil.{kind}"
    if kind == "tar":
        with tarfile.open(evil, "w:gz") as tf:
            info = tarfile.TarInfo("../escaped.txt")
            info.size = 3
            tf.addfile(info, io.BytesIO(b"bad"))
    else:
        with zipfile.ZipFile(evil, "w") as zf:
            zf.writestr("ok/../../escaped.txt", b"bad")
    with pytest.raises(MusiclustError, match="escapes"):
        extract(evil, tmp_path / "target")
    assert not (tmp_path / "escaped.txt").exists()


def test_install_from_a_kaggle_zip_reports_unreadable_clips(tmp_path):
    archive = tmp_path / "gtzan-kaggle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for genre in ("jazz", "rock"):
            for i in range(2):
                buf = io.BytesIO()
                sf.write(buf, np.zeros(SR // 4, np.float32) + 0.1, SR, format="WAV", subtype="PCM_16")
                zf.writestr(f"Data/genres_original/{genre}/{genre}.{i:05d}.wav", buf.getvalue())
        zf.writestr("Data/genres_original/jazz/jazz.00054.wav", b"RIFF....WAVEbroken")
        zf.writestr("Data/features_30_sec.csv", "filename,f1,label\njazz.00000.wav,1.0,jazz\n")
    root = gtzan.download(tmp_path / "gtzan", from_archive=archive, progress=False)
    assert (root / "features_30_sec.csv").exists()
    missing, invalid = gtzan.validate(root)
    assert invalid == ["jazz.00054"] and "jazz.00001" not in missing
    ds = load_dataset("gtzan", path=str(root))
    assert len(ds) == 4 and ds.skipped[0]["item"].endswith("jazz.00054.wav")


def test_jamendolyrics_loader_pairs_by_file_name(shared_data):
    table = lyrics.load_jamendolyrics_table(shared_data / "jamendolyrics")
    assert len(table) == 79 and (table["lyrics"].str.len() > 0).all()
    assert set(table["language"]) == {"en", "de", "es", "fr"}
    ds = load_dataset("jamendolyrics", path=str(shared_data / "jamendolyrics"))
    assert len(ds) == 10 and ds.tracks["has_lyrics"].all()
    assert ds.info["pairing"] == {
        "matched": 10,
        "audio_only": 0,
        "lyrics_only": 69,
        "duplicate_keys": 0,
        "keys": {"track_id": 10},
    }
    for row in ds.tracks.itertuples():  # each song carries its own lyrics, never another song's
        own = table.loc[table["track_id"] == row.track_id, "lyrics"].iloc[0]
        assert row.lyrics == own and row.audio_path.endswith(f"{row.track_id}.mp3")
    assert sum(s["reason"].startswith("lyrics only") for s in ds.skipped) == 69


def test_gtzan_audio_with_a_user_lyrics_table(tmp_path, tarball, capsys):
    data, _ = tarball
    root = tmp_path / "gtzan"
    root.mkdir()
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        tf.extractall(root, filter="data")
    table = tmp_path / "my_lyrics.csv"
    pd.DataFrame(
        {
            "id": ["blues.00000", "metal.00001", "pop.00042"],
            "text": ["I woke up this morning with the blues", "Fire and steel, we ride tonight", "Nobody's audio"],
            "lang": ["English", "English", "English"],
        }
    ).to_csv(table, index=False)
    ds = load_dataset("gtzan", path=str(root), lyrics_table=str(table))
    assert ds.info["pairing"]["matched"] == 2 and ds.info["pairing"]["audio_only"] == 2
    assert ds.info["pairing"]["lyrics_only"] == 1
    lyr = dict(zip(ds.tracks["track_id"], ds.tracks["lyrics"]))
    assert lyr["blues.00000"].startswith("I woke up") and lyr["blues.00001"] == ""
    # the combination runs end to end; the pairing counts are recorded with the run
    code = run_experiments_main(
        [
            "--dataset",
            "gtzan",
            "--data-path",
            str(root),
            "--lyrics-table",
            str(table),
            "--output-dir",
            str(tmp_path / "results"),
            "--models",
            "raw",
            "audio_lyrics",
            "--clusterers",
            "kmeans",
            "--seeds",
            "0",
            "--k",
            "2",
            "--no-plots",
            "--no-cache",
            "--no-progress",
        ]
    )
    assert code == 0, capsys.readouterr().err
    info = json.loads(next((tmp_path / "results").glob("gtzan-*/config.json")).read_text())
    assert info["resolved"]["dataset_info"]["pairing"]["matched"] == 2


def test_url_source_normalizes_any_lyrics_csv(tmp_path):
    csv = (
        "song,singer,text,lang,genre\nAmar Shonar Bangla,Tagore,আমার সোনার বাংলা,Bengali,folk\n"
        "Yesterday,Beatles,all my troubles seemed so far away,English,pop\n"
    ).encode()
    with Server({"/l/songs.csv": csv}) as srv:
        out = lyrics.download(
            "url", tmp_path, url=f"{srv.url}/l/songs.csv", sha256=hashlib.sha256(csv).hexdigest(), progress=False
        )
        with pytest.raises(MusiclustError, match="checksum"):
            lyrics.download("url", tmp_path / "x", url=f"{srv.url}/l/songs.csv", sha256="0" * 64, progress=False)
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns[:6]) == lyrics.COLUMNS
    assert table["language"].tolist() == ["bn", "en"] and table["artist"].tolist() == ["Tagore", "Beatles"]
    with pytest.raises(MusiclustError, match="--sha256"):
        lyrics.download("url", tmp_path, url="http://127.0.0.1:9/x.csv", force=True)


def test_kaggle_without_credentials_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    monkeypatch.delenv("KAGGLE_KEY", raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "nothing"))
    with pytest.raises(MusiclustError, match="KAGGLE_USERNAME and KAGGLE_KEY"):
        lyrics.download("kaggle", tmp_path, dataset="someone/lyrics")


def test_jamendolyrics_runs_end_to_end(shared_data, tmp_path, capsys):
    code = run_experiments_main(
        [
            "--dataset",
            "jamendolyrics",
            "--data-path",
            str(shared_data / "jamendolyrics"),
            "--output-dir",
            str(tmp_path),
            "--models",
            "raw",
            "lyrics",
            "audio_lyrics",
            "--clusterers",
            "kmeans",
            "--seeds",
            "0",
            "--no-plots",
            "--no-cache",
            "--no-progress",
        ]
    )
    assert code == 0, capsys.readouterr().err
    run_dir = next(tmp_path.glob("jamendolyrics-*"))
    info = json.loads((run_dir / "config.json").read_text())
    assert info["resolved"]["label_columns"] == ["language", "genre"] and info["resolved"]["n_tracks"] == 10
    assert info["resolved"]["dataset_info"]["pairing"]["lyrics_only"] == 69
    m = pd.read_csv(run_dir / "metrics.csv")
    assert set(m["representation"]) == {"raw", "lyrics", "audio_lyrics"} and (m["n_tracks"] == 10).all()
