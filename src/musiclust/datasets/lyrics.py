"""Lyrics sources, one normalized table per source, and pairing lyrics with audio through a real key.

Normalized table columns: ``track_id, title, artist, lyrics, language, genre`` (ISO 639-1 language codes where the
source names languages; any other columns of the source are kept). Pairing never guesses: a lyric attaches to an audio
track only through the track id, the audio file name, or the normalized artist + title; everything else is reported as
audio-only or lyrics-only.

JamendoLyrics MultiLang (Stoller, Durand & Ewert; MIT licence, songs under Creative Commons): 79 songs in English,
German, Spanish and French with lyrics, genre, language and word/line timings, and the songs' audio
(https://github.com/f90/jamendolyrics).
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from ..errors import MusiclustError
from .base import Dataset
from .language import with_detected_language
from .tabular import (
    duplicate_keys,
    exact_duplicate_rows,
    read_table,
    unicode_key,
    unique_ids,
    warn_duplicates,
)

log = logging.getLogger(__name__)

COLUMNS = ["track_id", "title", "artist", "lyrics", "language", "genre"]
DEFAULT_ROOT = Path("music_data") / "lyrics"
JAMENDO_ROOT = Path("music_data") / "jamendolyrics"
JAMENDO_URLS = (
    "https://github.com/f90/jamendolyrics/archive/refs/heads/main.zip",
    "https://github.com/f90/jamendolyrics/archive/refs/heads/master.zip",
)
LANGUAGE_CODES = {
    "english": "en",
    "german": "de",
    "spanish": "es",
    "french": "fr",
    "italian": "it",
    "latin": "la",
    "bengali": "bn",
    "bangla": "bn",
    "hindi": "hi",
    "portuguese": "pt",
}
# Column names seen in lyrics tables in the wild -> the normalized name.
ALIASES = {
    "id": "track_id",
    "song_id": "track_id",
    "track": "title",
    "song": "title",
    "song_name": "title",
    "name": "title",
    "text": "lyrics",
    "lyric": "lyrics",
    "lang": "language",
    "singer": "artist",
    "artist_name": "artist",
    "filename": "track_id",
    "filepath": "track_id",
    "path": "track_id",
    "file": "track_id",
    "audio_file": "track_id",
    "audio_path": "track_id",
}
FETCH_HINT = "run `python download_lyrics.py --source jamendolyrics`"


def language_code(value) -> str:
    """ISO 639-1 code for a language name or code (unknown values are kept, lower-cased: a column coded 1/2 keeps its
    two classes)."""
    if value is None or (isinstance(value, float) and value != value):
        return "und"
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 1.0 (a numeric column with a gap) is the class 1
    v = str(value).strip().lower()
    if not v:
        return "und"
    return LANGUAGE_CODES.get(v, v)


def normalize_table(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Rename known column aliases, fill the missing standard columns, map languages to ISO codes."""
    df = df.rename(columns={c: c.strip().lower().replace(" ", "_") for c in df.columns})
    rename = {}
    for c in df.columns:
        target = ALIASES.get(c)
        if target and target not in df.columns and target not in rename.values():
            rename[c] = target
    df = df.rename(columns=rename)
    if "lyrics" not in df.columns:
        raise MusiclustError(
            f"the {source} table has no lyrics column (looked for lyrics/text); columns: {list(df.columns)[:10]}"
        )
    if "track_id" not in df.columns:
        df["track_id"] = [f"{source}-{i}" for i in range(len(df))]
    for col in COLUMNS:
        if col not in df.columns:
            df[col] = ""
    df["track_id"] = df["track_id"].astype(str).map(_id_from_path)
    df["lyrics"] = df["lyrics"].fillna("").astype(str)
    df["language"] = df["language"].map(language_code)
    df["source"] = source
    return df[COLUMNS + [c for c in df.columns if c not in COLUMNS]]


def _name_key(value: str, by_name: dict) -> str | None:
    """The key of ``by_name`` for a track's file name: as it is, else lower-cased (unique case-insensitive names)."""
    name = unicode_key(_id_from_path(value))
    for k in (name, name.lower()):
        if k in by_name:
            return k
    return None


def _id_from_path(value: str) -> str:
    """A track id from an id that may be a path: ``bangla/song_1.mp3`` and ``song_1.mp3`` -> ``song_1``."""
    value = value.strip()
    name = PurePosixPath(value.replace("\\", "/")).name
    if PurePosixPath(name).suffix.lower() in (".wav", ".au", ".flac", ".ogg", ".mp3", ".txt", ".m4a"):
        name = PurePosixPath(name).stem
    return name


def load_jamendolyrics_table(root: str | Path | None = None) -> pd.DataFrame:
    """All JamendoLyrics songs (79) as a normalized table, with ``audio_path`` where the mp3 is present."""
    root = Path(root or JAMENDO_ROOT)
    csv = root / "JamendoLyrics.csv"
    if not csv.exists():
        raise MusiclustError(f"no JamendoLyrics.csv in {root}: {FETCH_HINT}")
    meta = pd.read_csv(csv)
    rows = []
    for r in meta.itertuples(index=False):
        stem = Path(r.Filepath).stem
        txt = root / "lyrics" / f"{stem}.txt"
        audio = root / "mp3" / r.Filepath
        rows.append(
            {
                "track_id": stem,
                "title": r.Title,
                "artist": r.Artist,
                "lyrics": txt.read_text(encoding="utf-8") if txt.exists() else "",
                "language": r.Language,
                "genre": r.Genre,
                "url": r.URL,
                "licence": r.LicenseType,
                "audio_path": str(audio) if audio.exists() else "",
            }
        )
    return normalize_table(pd.DataFrame(rows), "jamendolyrics")


def _norm_key(*parts) -> str:
    text = " ".join(str(p) for p in parts if isinstance(p, str))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def attach_lyrics(dataset: Dataset, table: pd.DataFrame) -> Dataset:
    """Pair a lyrics table with a dataset's audio tracks through a real key, never at random.

    Keys, in order: ``track_id``; the audio file name (without extension); normalized ``artist`` + ``title`` (when
    both sides have them). Tracks without a match keep empty lyrics (``has_lyrics = False``) and are handled by the
    models as audio-only; lyrics rows without audio are listed in ``skipped``. The counts go to
    ``dataset.info["pairing"]``. Where the dataset has no ``language`` column, the table's languages are used for
    the matched tracks (``und`` otherwise).
    """
    tracks = dataset.tracks.copy()
    table = table.reset_index(drop=True)
    dup, dup_names = duplicate_keys(table["track_id"])
    warn_duplicates(dup_names, "the lyrics table (column track_id)")
    dup_skipped = [
        {
            "item": f"lyrics {table['track_id'][i]} (row {i + 2})",
            "reason": "duplicate key: an earlier lyrics row has the same track id (the first row wins)",
        }
        for i in np.flatnonzero(dup.to_numpy())
    ]
    table = table[~dup.to_numpy()].reset_index(drop=True)
    by_id = {}
    for i, t in enumerate(table["track_id"]):
        by_id.setdefault(str(t), i)
    # file names: exactly first, then case-insensitively where only one lyrics row has that name
    by_name: dict[str, int] = {}
    folded: dict[str, list[int]] = {}
    for i, t in enumerate(table["track_id"]):
        by_name.setdefault(unicode_key(_id_from_path(str(t))), i)
        folded.setdefault(unicode_key(_id_from_path(str(t))).lower(), []).append(i)
    for name, rows in folded.items():
        if len(rows) == 1:
            by_name.setdefault(name, rows[0])
    by_title = {}
    if {"artist", "title"} <= set(table.columns):
        for i, (a, t) in enumerate(zip(table["artist"], table["title"])):
            key = _norm_key(a, t)
            if key.strip() and isinstance(a, str) and a.strip():
                by_title.setdefault(key, i)
    matches, keys_used = [], []
    for r in tracks.itertuples(index=False):
        d = r._asdict()
        hit, how = None, ""
        if str(d["track_id"]) in by_id:
            hit, how = by_id[str(d["track_id"])], "track_id"
        elif (name := _name_key(str(d["track_id"]), by_name)) is not None:
            hit, how = by_name[name], "file name"
        elif isinstance(d.get("audio_path"), str) and (name := _name_key(Path(d["audio_path"]).stem, by_name)):
            hit, how = by_name[name], "file name"
        elif {"artist", "title"} <= set(d) and _norm_key(d["artist"], d["title"]) in by_title:
            hit, how = by_title[_norm_key(d["artist"], d["title"])], "artist+title"
        matches.append(hit)
        keys_used.append(how)
    lyr = [table["lyrics"][m] if m is not None else "" for m in matches]
    tracks["lyrics"] = lyr
    tracks["has_lyrics"] = [bool(str(t).strip()) for t in lyr]
    tracks["pairing_key"] = keys_used
    label_columns = list(dataset.label_columns)
    if "language" not in tracks.columns and "language" in table.columns:
        tracks["language"] = [table["language"][m] if m is not None else "unknown" for m in matches]
        tracks["language_source"] = ["lyrics table" if m is not None else "unknown" for m in matches]
        label_columns.append("language")
    used = {m for m in matches if m is not None}
    lyrics_only = [i for i in range(len(table)) if i not in used]
    skipped = (
        dataset.skipped
        + dup_skipped
        + [
            {
                "item": f"lyrics {table['track_id'][i]}",
                "reason": "lyrics only: no audio track with the same id, file name or artist+title",
            }
            for i in lyrics_only
        ]
    )
    n_matched = len(used)
    info = {
        **dataset.info,
        "pairing": {
            "matched": n_matched,
            "audio_only": len(tracks) - sum(m is not None for m in matches),
            "lyrics_only": len(lyrics_only),
            "duplicate_keys": len(dup_names),
            "keys": {k: keys_used.count(k) for k in ("track_id", "file name", "artist+title") if k in keys_used},
        },
    }
    log.info("lyrics pairing: %s", info["pairing"])
    return Dataset(
        dataset.name, tracks, label_columns, dataset.primary_label, dataset.description, dataset.features, skipped, info
    )


def read_lyrics_table(path: str | Path, encoding: str | None = None) -> pd.DataFrame:
    """A normalized lyrics table from a CSV/TSV file (as written by `download`, or any table with a lyrics column)."""
    path = Path(path)
    if not path.is_file():
        raise MusiclustError(f"lyrics table {path} does not exist: {FETCH_HINT} or pass an existing CSV")
    return normalize_table(read_table(path, encoding, what="lyrics table"), path.stem)


def load_lyrics_dataset(
    path: str | Path | None = None, label_columns: list[str] | None = None, encoding: str | None = None
) -> Dataset:
    """The ``lyrics`` dataset: a table of lyrics without audio; its features are the lyrics features.

    Labels: ``label_columns`` (default: ``language`` and ``genre`` where the table has values in them). Without a
    language column, languages are detected. Rows without lyric text and later rows with a duplicate id are skipped.
    """
    if path is None:
        raise MusiclustError("the lyrics dataset needs --data-path TABLE (a CSV/TSV with a lyrics column)")
    path = Path(path)
    raw = read_table(path, encoding, what="lyrics table")
    given_language = bool({"language", "lang"} & {c.strip().lower() for c in raw.columns})
    table = normalize_table(raw, path.stem)
    if not given_language:
        table = table.drop(columns=["language"])  # none given: detected below, and marked so
    if label_columns:
        # a requested language column that the table lacks is detected from the lyrics below
        missing = [c for c in label_columns if c not in table.columns and c != "language"]
        if missing:
            raise MusiclustError(f"{path.name} has no label column {missing}; its columns are {list(raw.columns)}")
        labels = [c for c in label_columns if c in table.columns]
    else:
        labels = [
            c for c in ("language", "genre") if c in table.columns and (table[c].astype(str).str.strip() != "").any()
        ]
    skipped = []
    # only a row equal in every cell to an earlier one is dropped; a repeated id under another row is kept as id#row
    dup = exact_duplicate_rows(table)
    for i in np.flatnonzero(dup.to_numpy()):
        skipped.append({"item": f"row {i + 2} ({table['track_id'][i]})", "reason": "exact duplicate of an earlier row"})
    _, repeated = duplicate_keys(table["track_id"][~dup])
    if repeated:
        log.warning(
            "lyrics table %s: %d track id(s) name several different rows (%s); each row is kept, later ones as "
            "<id>#<row>",
            path.name,
            len(repeated),
            ", ".join(repeated[:3]),
        )
    table["track_id"] = unique_ids(table["track_id"]).to_numpy()
    empty = table["lyrics"].str.strip() == ""
    for i in np.flatnonzero((empty & ~dup).to_numpy()):
        skipped.append({"item": f"row {i + 2} ({table['track_id'][i]})", "reason": "no lyric text"})
    tracks = table[~dup & ~empty].reset_index(drop=True)
    if len(tracks) < 2:
        raise MusiclustError(f"{path.name} has fewer than 2 rows with lyric text")
    tracks["has_lyrics"] = True
    if "language" in tracks.columns:
        tracks["language"] = tracks["language"].replace({"und": "unknown"})
        tracks["language_source"] = "table"
    for c in labels:
        tracks[c] = tracks[c].astype(str)
    return with_detected_language(
        tracks,
        [c for c in labels if c in tracks.columns],
        "lyrics",
        f"Lyrics table {path.name}: {len(tracks)} songs' lyrics, no audio.",
        skipped,
    )


def load_jamendolyrics(path: str | Path | None = None) -> Dataset:
    """The ``jamendolyrics`` dataset: the songs whose audio is present, with their own lyrics (paired by file name),
    labels ``language`` (primary; 4 languages) and ``genre``. Songs without audio are listed as lyrics-only."""
    table = load_jamendolyrics_table(path)
    with_audio = table[table["audio_path"] != ""].reset_index(drop=True)
    if with_audio.empty:
        raise MusiclustError(f"JamendoLyrics in {path or JAMENDO_ROOT} has no audio files in mp3/: {FETCH_HINT}")
    audio = pd.DataFrame(
        {
            "track_id": with_audio["track_id"],
            "audio_path": with_audio["audio_path"],
            "artist": with_audio["artist"],
            "title": with_audio["title"],
            "genre": with_audio["genre"],
        }
    )
    base = Dataset(
        "jamendolyrics",
        audio,
        ["genre"],
        "genre",
        "JamendoLyrics MultiLang (Stoller et al.; MIT licence, Creative Commons songs): real songs with "
        "their own lyrics in English, German, Spanish and French, paired with their audio by file name.",
    )
    ds = attach_lyrics(base, table)
    return Dataset(ds.name, ds.tracks, ["language", "genre"], "language", ds.description, None, ds.skipped, ds.info)


# --- downloads ----------------------------------------------------------------------------------------------------
def _kaggle_credentials() -> bool:
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return True
    config_dir = Path(os.environ.get("KAGGLE_CONFIG_DIR", Path.home() / ".kaggle"))
    return (config_dir / "kaggle.json").exists()


def _tables_in(folder: Path) -> pd.DataFrame:
    csvs = sorted(folder.rglob("*.csv"))
    if csvs:
        frames = []
        for c in csvs:
            try:
                df = pd.read_csv(c, keep_default_na=False)
            except Exception:
                continue
            if any(col.strip().lower() in ("lyrics", "text", "lyric") for col in df.columns):
                frames.append(df)
        if frames:
            return pd.concat(frames, ignore_index=True)
    txts = sorted(folder.rglob("*.txt"))
    if txts:
        return pd.DataFrame(
            {
                "track_id": [t.stem for t in txts],
                "lyrics": [t.read_text(encoding="utf-8", errors="replace") for t in txts],
            }
        )
    raise MusiclustError(f"no CSV with a lyrics column and no .txt lyrics found in {folder}")


def download(
    source: str,
    dest: str | Path | None = None,
    url: str | None = None,
    sha256: str | None = None,
    dataset: str | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Fetch a lyrics source and write its normalized table ``<dest>/<source>/lyrics.csv``; returns that path."""
    from .download import RemoteFile, extract
    from .download import download as fetch

    dest = Path(dest or DEFAULT_ROOT)
    out_dir = dest / source
    out = out_dir / "lyrics.csv"
    if out.exists() and not force:
        log.info("%s already exists (use --force to redo)", out)
        return out
    if source == "jamendolyrics":
        urls = (url,) if url else JAMENDO_URLS
        checksum = f"sha256:{sha256}" if sha256 else None
        archive = fetch(
            RemoteFile("jamendolyrics.zip", urls, checksum), out_dir / "downloads", force=force, progress=progress
        )
        extract(archive, out_dir / "extracted")
        found = sorted((out_dir / "extracted").rglob("JamendoLyrics.csv"))
        if not found:
            raise MusiclustError("the JamendoLyrics archive has no JamendoLyrics.csv")
        layout = found[0].parent
        target = Path(os.path.dirname(dest)) / "jamendolyrics" if dest == DEFAULT_ROOT else out_dir / "jamendolyrics"
        if not target.exists():
            layout.rename(target)
        table = load_jamendolyrics_table(target)
    elif source == "url":
        if not url or not sha256:
            raise MusiclustError("--source url needs --url and --sha256 (the checksum of the file you expect)")
        name = Path(url.split("?")[0]).name or "lyrics"
        path = fetch(
            RemoteFile(name, (url,), f"sha256:{sha256}"), out_dir / "downloads", force=force, progress=progress
        )
        if name.lower().endswith(".csv"):
            table = normalize_table(pd.read_csv(path, keep_default_na=False), "url")
        else:
            extract(path, out_dir / "extracted")
            table = normalize_table(_tables_in(out_dir / "extracted"), "url")
    elif source == "kaggle":
        if not dataset:
            raise MusiclustError("--source kaggle needs --dataset OWNER/NAME")
        if not _kaggle_credentials():
            raise MusiclustError(
                "Kaggle credentials not found: set KAGGLE_USERNAME and KAGGLE_KEY, or put "
                "kaggle.json in ~/.kaggle (or KAGGLE_CONFIG_DIR)"
            )
        try:
            from kaggle.api.kaggle_api_extended import KaggleApi
        except ImportError:
            raise MusiclustError("the Kaggle source needs the Kaggle API client: pip install kaggle") from None
        api = KaggleApi()
        api.authenticate()
        api.dataset_download_files(dataset, path=str(out_dir / "extracted"), unzip=True, quiet=not progress)
        table = normalize_table(_tables_in(out_dir / "extracted"), "kaggle")
    else:
        raise MusiclustError(f"unknown lyrics source '{source}'; choose jamendolyrics, url or kaggle")
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".csv.part")
    table.to_csv(tmp, index=False)
    os.replace(tmp, out)
    return out
