"""The Million Song Dataset: per-track HDF5 files of Echo Nest analysis and metadata (no audio).

Each ``TR*.h5`` (the standard ``A/B/C/TRABC...h5`` layout, found at any depth) is read with h5py. The Echo Nest splits a
song into segments of roughly one note each and gives every segment a 12-D timbre vector (MFCC-like coefficients of a
loudness-normalized spectrum) and a 12-D chroma vector; a track becomes their per-dimension mean and standard deviation
(feature set ``msd_timbre``, 48 values), and ``msd`` adds its overall loudness, tempo, key (as a point on the circle of
keys), mode, time signature and duration (55 values).

Labels: ``--labels FILE`` joins a label file keyed by track id -- a tagtraum ``.cls``
(``track_id<TAB>genre[<TAB>genre2]``, ``#`` comments; the first genre is the label ``genre``) or a CSV/TSV with a
``track_id`` column (every other column a label). Without a file, each file gives two: the artist's top Echo Nest
term (``artist_term``, the most frequent) and the decade of ``year`` (``decade``; year 0 means unknown, left out of
that label's metrics).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MusiclustError
from .base import Dataset
from .tabular import read_table

log = logging.getLogger(__name__)

DIMS = [f"{i:02d}" for i in range(1, 13)]
TIMBRE_COLUMNS = [f"{what}_{stat}_{d}" for what in ("timbre", "pitch") for stat in ("mean", "std") for d in DIMS]
SONG_COLUMNS = ["loudness", "tempo", "key_sin", "key_cos", "mode", "time_signature", "duration"]
# name -> the columns of the features table that make it (a named set, like the audio feature sets)
FEATURE_SETS = {"msd_timbre": TIMBRE_COLUMNS, "msd": TIMBRE_COLUMNS + SONG_COLUMNS}
DEFAULT_FEATURE_SET = "msd"
GET_IT = (
    "the Million Song Subset (10,000 tracks, 1.8 GB) is linked from http://millionsongdataset.com/pages/getting-dataset/"
    " (unpack it and pass its data folder); the full dataset is on AWS as a public snapshot"
)


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def read_track(path: Path) -> dict:
    """One per-track file: metadata, the song-level analysis and the summarized segment arrays (see module doc).

    Raises `MusiclustError` with the reason for a file that is not a readable MSD track file."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            meta, song, brainz = f["metadata"]["songs"][0], f["analysis"]["songs"][0], f["musicbrainz"]["songs"][0]
            timbre = np.asarray(f["analysis"]["segments_timbre"][:], dtype=float)
            pitch = np.asarray(f["analysis"]["segments_pitches"][:], dtype=float)
            terms = [_text(t) for t in f["metadata"]["artist_terms"][:]]
            freq = np.asarray(f["metadata"]["artist_terms_freq"][:], dtype=float)
    except OSError as exc:  # truncated, empty, or not HDF5 at all
        raise MusiclustError(f"not a readable HDF5 file ({str(exc).splitlines()[0]})") from None
    except (KeyError, IndexError, ValueError):
        raise MusiclustError(
            "not an MSD track file (an HDF5 file without the /metadata, /analysis and /musicbrainz song tables)"
        ) from None
    if len(timbre) == 0 or timbre.shape[1:] != (12,) or pitch.shape != timbre.shape:
        raise MusiclustError(f"no usable segments (timbre {timbre.shape}, pitches {pitch.shape})")
    if not (np.isfinite(timbre).all() and np.isfinite(pitch).all()):
        raise MusiclustError("non-finite segment values")
    row = {
        "track_id": _text(song["track_id"]) or path.stem,
        "title": _text(meta["title"]),
        "artist": _text(meta["artist_name"]),
        "release": _text(meta["release"]),
        "year": int(brainz["year"]),
        "artist_term": terms[int(np.argmax(freq))] if len(terms) and len(freq) == len(terms) else "",
    }
    stats = np.concatenate([timbre.mean(0), timbre.std(0), pitch.mean(0), pitch.std(0)])
    row.update(dict(zip(TIMBRE_COLUMNS, stats)))
    key = int(song["key"])
    row.update(
        loudness=float(song["loudness"]),
        tempo=float(song["tempo"]),
        # the circle of keys: C (0) is next to B (11), which a plain number would put furthest apart
        key_sin=float(np.sin(2 * np.pi * key / 12)),
        key_cos=float(np.cos(2 * np.pi * key / 12)),
        mode=float(song["mode"]),
        time_signature=float(song["time_signature"]),
        duration=float(song["duration"]),
    )
    return row


def read_labels(path: str | Path, encoding: str | None = None) -> pd.DataFrame:
    """A label file keyed by ``track_id``: tagtraum ``.cls`` (first genre -> ``genre``) or a CSV/TSV table."""
    path = Path(path)
    if not path.is_file():
        raise MusiclustError(f"--labels {path} does not exist: pass a .cls or CSV/TSV file with a track_id column")
    if path.suffix.lower() == ".cls":
        rows = []
        for n, line in enumerate(path.read_text(encoding=encoding or "utf-8", errors="replace").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or not parts[0].strip():
                raise MusiclustError(f"{path.name} line {n}: expected 'track_id<TAB>genre', got {line[:60]!r}")
            rows.append({"track_id": parts[0].strip(), "genre": parts[1].strip()})
        if not rows:
            raise MusiclustError(f"{path.name} has no label rows (only comments or blank lines)")
        return pd.DataFrame(rows)
    table = read_table(path, encoding, what="label file")
    if "track_id" not in table.columns:
        raise MusiclustError(f"{path.name} has no 'track_id' column; its columns are {list(table.columns)[:8]}")
    if len(table.columns) < 2:
        raise MusiclustError(f"{path.name} has no label column besides 'track_id'")
    return table.astype({c: str for c in table.columns})


def _decade(year: int) -> str:
    return f"{year // 10 * 10}s" if year > 0 else ""


def load(
    path: str | Path | None = None,
    labels: str | Path | None = None,
    label_columns: list[str] | None = None,
    encoding: str | None = None,
    n_jobs: int = -1,
    progress: bool = True,
) -> Dataset:
    """Every readable ``TR*.h5`` under ``path``; ``labels`` an optional label file (see module doc)."""
    if path is None:
        raise MusiclustError(f"the msd dataset needs a folder of MSD .h5 files: pass --data-path DIR ({GET_IT})")
    root = Path(path)
    if not root.is_dir():
        raise MusiclustError(f"MSD folder {root} does not exist: pass --data-path DIR; {GET_IT}")
    files = sorted(p for p in root.rglob("*.h5") if p.is_file() and p.name.upper().startswith("TR"))
    if not files:
        raise MusiclustError(f"no MSD track files (TR*.h5) under {root}; {GET_IT}")
    rows, skipped = [], []
    for p in files:
        try:
            rows.append(read_track(p))
        except MusiclustError as exc:
            skipped.append({"item": str(p.relative_to(root)), "reason": str(exc)})
    if not rows:
        raise MusiclustError(
            f"none of the {len(files)} .h5 files under {root} could be read (first: {skipped[0]['item']}: "
            f"{skipped[0]['reason']})"
        )
    table = pd.DataFrame(rows)
    dup = table["track_id"].duplicated()  # the same track id twice: the same analysis, kept once
    for i in np.flatnonzero(dup.to_numpy()):
        skipped.append({"item": table["track_id"].iloc[i], "reason": "the same track id as an earlier file"})
    table = table[~dup.to_numpy()].reset_index(drop=True)
    table["decade"] = table["year"].map(_decade)
    built_in = ["artist_term", "decade"]
    info: dict = {"feature_sets": FEATURE_SETS, "default_feature_set": DEFAULT_FEATURE_SET, "files": len(files)}
    file_labels: list[str] = []
    if labels is not None:
        lab = read_labels(labels, encoding)
        file_labels = [c for c in lab.columns if c != "track_id"]
        clash = [c for c in file_labels if c in table.columns]
        if clash:
            lab = lab.rename(columns={c: f"{c}_label" for c in clash})
            file_labels = [f"{c}_label" if c in clash else c for c in file_labels]
        lab = lab.drop_duplicates("track_id")
        table = table.merge(lab, on="track_id", how="left")
        for c in file_labels:
            table[c] = table[c].fillna("").astype(str)
        matched = int(table[file_labels[0]].ne("").sum())
        info["labels_file"] = {"path": str(labels), "rows": len(lab), "matched": matched}
        if matched == 0:
            raise MusiclustError(
                f"no track id of --labels {Path(labels).name} matches a track under {root} (e.g. label id "
                f"'{lab['track_id'].iloc[0]}' vs track '{table['track_id'].iloc[0]}')"
            )
    columns = list(label_columns or [*file_labels, *built_in])
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise MusiclustError(f"msd has no label column {missing}; it has {[*file_labels, *built_in]}")
    features = table[FEATURE_SETS["msd"]].astype(float)
    tracks = table[["track_id", "title", "artist", "release", "year", *dict.fromkeys(columns)]]
    described = f"{len(tracks)} Million Song Dataset tracks (Echo Nest analysis and metadata from per-track HDF5 files)"
    if labels is not None:
        described += f"; labels from {Path(labels).name} for {info['labels_file']['matched']} of them"
    return Dataset(
        name="msd",
        tracks=tracks.reset_index(drop=True),
        label_columns=columns,
        primary_label=columns[0],
        description=described + ". No audio: features are the analysis' segment timbre and chroma statistics.",
        features=features.reset_index(drop=True),
        skipped=skipped,
        info=info,
    )


__all__ = ["DEFAULT_FEATURE_SET", "FEATURE_SETS", "load", "read_labels", "read_track"]
