"""GTZAN genre collection (Tzanetakis & Cook 2002), read from a local folder.

Facts: 1000 clips of 30 s, 22050 Hz mono, 10 genres x 100 (blues, classical, country, disco, hiphop, jazz, metal, pop,
reggae, rock). Two layouts exist: the original archive ``genres/<genre>/<genre>.000NN.au`` and Kaggle's copy
``genres_original/<genre>/<genre>.000NN.wav`` (whose ``jazz.00054.wav`` is known to be unreadable). The genre is taken
from the folder name. GTZAN has documented faults -- repeated clips, mislabelings, and strong artist concentration
within genres (Sturm 2012, 2013) -- so clustering scores on it must be read with that in mind.

Citation: G. Tzanetakis and P. Cook, "Musical genre classification of audio signals", IEEE TSAP 10(5), 2002.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import MusiclustError
from .base import Dataset

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
        return f"unreadable audio ({str(exc).splitlines()[0][:200]})"


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
