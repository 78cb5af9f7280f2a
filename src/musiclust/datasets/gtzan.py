"""GTZAN genre collection (Tzanetakis & Cook 2002), read from a local folder.

Facts: 1000 clips of 30 s, 22050 Hz mono, 10 genres x 100 (blues, classical, country, disco, hiphop, jazz, metal, pop,
reggae, rock). Two layouts exist: the original archive ``genres/<genre>/<genre>.000NN.au`` and Kaggle's copy
``genres_original/<genre>/<genre>.000NN.wav`` (whose ``jazz.00054.wav`` is known to be unreadable). The genre is taken
from the folder name. GTZAN has documented faults -- repeated clips, mislabelings, and strong artist concentration
within genres (Sturm 2012, 2013) -- so clustering scores on it must be read with that in mind.

Citation: G. Tzanetakis and P. Cook, "Musical genre classification of audio signals", IEEE TSAP 10(5), 2002.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from ..errors import MusiclustError
from .base import Dataset

log = logging.getLogger(__name__)

DEFAULT_ROOT = Path("music_data") / "gtzan"
AUDIO_EXTENSIONS = (".au", ".wav", ".flac", ".mp3", ".ogg")
LAYOUT_FOLDERS = ("genres", "genres_original", "Data/genres_original")
FETCH_HINT = "run `python download_gtzan.py` (or `--from-archive PATH` for a copy you already have)"

DESCRIPTION = (
    "GTZAN genre collection (Tzanetakis & Cook 2002): 30-s real recordings, 10 genres x 100 clips. Known faults "
    "(Sturm 2012/2013): repeated clips, some mislabelings and artist concentration within genres, which inflate or "
    "distort genre scores; results on it are reported as they are."
)


def find_genre_root(root: Path) -> Path:
    """The folder whose sub-folders are genres, in either known layout (or ``root`` itself)."""
    for sub in LAYOUT_FOLDERS:
        if (root / sub).is_dir():
            return root / sub
    return root


def _is_readable(path: Path) -> str | None:
    """None when the file decodes, otherwise the reason (a cheap header read, not a full decode)."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
        if info.frames <= 0:
            return "no audio frames"
        return None
    except Exception as exc:  # soundfile raises LibsndfileError/RuntimeError for unreadable files
        from ..audio_formats import unreadable_reason

        return f"unreadable audio: {unreadable_reason(path, exc)}"


def load(path: str | Path | None = None, check_readable: bool = True) -> Dataset:
    """GTZAN as a `Dataset` with label column ``genre``; unreadable clips are skipped and listed."""
    root = Path(path or DEFAULT_ROOT)
    if not root.is_dir():
        raise MusiclustError(f"GTZAN folder {root} does not exist: {FETCH_HINT}")
    genre_root = find_genre_root(root)
    rows, skipped = [], []
    for genre_dir in sorted(p for p in genre_root.iterdir() if p.is_dir()):
        for path in sorted(genre_dir.iterdir()):
            if path.suffix.lower() not in AUDIO_EXTENSIONS:
                continue
            reason = _is_readable(path) if check_readable else None
            if reason:
                skipped.append({"item": str(path), "reason": reason})
                continue
            rows.append({"track_id": path.stem, "audio_path": str(path), "genre": genre_dir.name})
    if not rows:
        raise MusiclustError(
            f"no audio clips found under {genre_root} (expected genres/<genre>/*.au or genres_original/<genre>/*.wav): "
            f"{FETCH_HINT}"
        )
    return Dataset(
        name="gtzan",
        tracks=pd.DataFrame(rows),
        label_columns=["genre"],
        primary_label="genre",
        description=DESCRIPTION,
        skipped=skipped,
    )


# --- download -----------------------------------------------------------------------------------------------------
# The original archive, as mirdata records it (name, address, MD5). Further mirrors can be passed by the user.
GTZAN_ARCHIVE = "genres.tar.gz"
GTZAN_URLS = ("http://opihi.cs.uvic.ca/sound/genres.tar.gz",)
GTZAN_MD5 = "5b3d6dddb579ab49814ab86dba69e7c7"
GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
COMPLETE_MARKER = ".musiclust-complete.json"


def validate(path: str | Path | None = None) -> tuple[list[str], list[str]]:
    """``(missing, invalid)`` clip names of a GTZAN folder against the 10 x 100 expected clips; never raises."""
    root = Path(path or DEFAULT_ROOT)
    genre_root = find_genre_root(root)
    missing, invalid = [], []
    for genre in GENRES:
        for i in range(100):
            stem = f"{genre}.{i:05d}"
            found = [p for ext in AUDIO_EXTENSIONS for p in [genre_root / genre / f"{stem}{ext}"] if p.exists()]
            if not found:
                missing.append(stem)
            elif _is_readable(found[0]):
                invalid.append(stem)
    return missing, invalid


def download(
    path: str | Path | None = None,
    mirrors: list[str] | None = None,
    force: bool = False,
    from_archive: str | Path | None = None,
    progress: bool = True,
    md5: str = GTZAN_MD5,
    default_mirrors: bool = True,
) -> Path:
    """Install GTZAN into ``path`` (default ``music_data/gtzan``) and return it.

    From the original archive over HTTP (MD5-checked, resumable, mirrors tried in order), or ``from_archive``: a
    ``genres.tar.gz`` or Kaggle's zip (``Data/genres_original/...`` with ``features_30_sec.csv``) you already have.
    A second call does nothing unless ``force`` (the folder holds a completion marker). ``default_mirrors=False``
    uses only the given ``mirrors`` (the tests use it, so they never reach beyond 127.0.0.1).
    """
    import json

    from .download import RemoteFile, extract
    from .download import download as fetch

    root = Path(path or DEFAULT_ROOT)
    marker = root / COMPLETE_MARKER
    if marker.exists() and not force:
        log.info("GTZAN already installed in %s (use --force to redo)", root)
        return root
    if from_archive is not None:
        archive = Path(from_archive)
        if not archive.is_file():
            raise MusiclustError(f"archive {archive} does not exist")
        source = str(archive)
    else:
        # the user's mirrors first (they are usually nearer), then the original address
        urls = tuple(mirrors or ()) + (GTZAN_URLS if default_mirrors else ())
        if not urls:
            raise MusiclustError("no download address: pass --mirror URL or allow the default address")
        archive = fetch(
            RemoteFile(GTZAN_ARCHIVE, urls, f"md5:{md5}"), root / "downloads", force=force, progress=progress
        )
        source = "download"
    names = extract(archive, root)
    # Kaggle's zip nests everything under Data/: lift the tables next to the audio for the table loader.
    for table in ("features_30_sec.csv", "features_3_sec.csv"):
        nested = root / "Data" / table
        if nested.exists() and not (root / table).exists():
            nested.replace(root / table)
    marker.write_text(json.dumps({"source": source, "entries": len(names)}, indent=2))
    return root
