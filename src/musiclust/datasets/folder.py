"""Your own collection: any folder of audio files, optionally with a metadata table of labels and lyrics.

Audio is found recursively (WAV, AU, FLAC, OGG, MP3; extensions case-insensitive; other files, hidden files and
macOS ``._`` resource forks ignored).

- Without a metadata table, a track's label is the name of its first-level sub-folder (``DIR/<label>/.../song.mp3``),
  so a GTZAN-like layout works as it is; files directly in ``DIR`` have a blank label.
- With one (CSV or TSV, see `tabular.read_table`), rows join audio files through a key column (default: the first of
  ``audio_file, path, file, filename, track_id`` that the table has), matched against the file's path relative to
  ``DIR``, then its file name, then its stem, case-insensitively. Every row is accounted for: matched, metadata without
  audio, duplicate key; and every audio file without a row is counted. A ``lyrics`` (or ``text``) column attaches
  lyrics; any column can be a label.
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath

import pandas as pd

from ..errors import MusiclustError
from .base import Dataset
from .language import with_detected_language
from .tabular import duplicate_keys, exact_duplicate_rows, read_table, unicode_key, warn_duplicates

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".wav", ".au", ".flac", ".ogg", ".mp3")
KEY_CANDIDATES = ("audio_file", "path", "file", "filename", "track_id")
LABEL_CANDIDATES = ("genre", "genre_tag", "label", "style")
LYRICS_CANDIDATES = ("lyrics", "text")
FOLDER_LABEL = "label"


def find_audio(root: str | Path) -> list[Path]:
    """Audio files under ``root``, recursively, sorted by relative path."""
    root = Path(root)
    found = []
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):  # hidden files and folders, macOS ._ forks
            continue
        if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file():
            found.append(p)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix().lower())


def _column(df: pd.DataFrame, name: str) -> str | None:
    """The table's column called ``name``, compared case- and space-insensitively."""
    want = name.strip().lower()
    for c in df.columns:
        if str(c).strip().lower() == want:
            return c
    return None


class _FileIndex:
    """The audio files by relative path, name and stem, for keying metadata rows to them.

    A key matches exactly first (Unicode-normalized: a name typed composed matches one stored decomposed, as macOS
    stores it), then with its surrounding spaces removed, then case-insensitively -- each only when exactly one file
    fits: a name that two sub-folders hold (``a/song.wav``, ``b/song.wav``) is ambiguous and says so, never paired with
    one of them at random."""

    def __init__(self, files: list[Path], root: Path):
        self.files, self.root = files, root
        self.by: dict[tuple[str, bool], dict[str, list[int]]] = {}
        for j, p in enumerate(files):
            rel = unicode_key(p.relative_to(root).as_posix())
            for how, text in (("relative path", rel), ("file name", PurePosixPath(rel).name)):
                for fold in (False, True):
                    self.by.setdefault((how, fold), {}).setdefault(text.lower() if fold else text, []).append(j)
            stem = unicode_key(p.stem)
            for fold in (False, True):
                self.by.setdefault(("stem", fold), {}).setdefault(stem.lower() if fold else stem, []).append(j)

    def find(self, value: str) -> tuple[int | None, str]:
        """``(file index, how it matched)`` or ``(None, why not)``."""
        raw = unicode_key(str(value)).replace("\\", "/").removeprefix("./")
        candidates = list(dict.fromkeys([raw, raw.strip()]))
        for fold in (False, True):
            for text in candidates:
                if not text.strip():
                    continue
                k = text.lower() if fold else text
                for how, probe in (("relative path", k), ("file name", PurePosixPath(k).name), ("stem", k)):
                    hits = self.by[(how, fold)].get(probe, [])
                    if how == "stem" and not hits:
                        hits = self.by[(how, fold)].get(PurePosixPath(k).stem, [])
                    if len(hits) == 1:
                        return hits[0], how
                    if len(hits) > 1:
                        names = [self.files[j].relative_to(self.root).as_posix() for j in hits[:3]]
                        return None, (
                            f"ambiguous: {len(hits)} files match this {how} ({', '.join(names)}); key the row by the "
                            f"path relative to the folder"
                        )
        return None, "metadata without audio: no file under the folder has this path, name or stem"


def _track_ids(files: list[Path], root: Path) -> list[str]:
    """File stems, or relative paths without extension where two files share a stem."""
    stems = [p.stem for p in files]
    if len(set(s.lower() for s in stems)) == len(stems):
        return stems
    return [p.relative_to(root).with_suffix("").as_posix() for p in files]


def _check_root(root: Path) -> list[Path]:
    if not root.is_dir():
        raise MusiclustError(f"audio folder {root} does not exist: pass --data-path with the folder of your songs")
    files = find_audio(root)
    if not files:
        raise MusiclustError(f"no audio files (wav, au, flac, ogg, mp3) found under {root}")
    return files


def load(
    path: str | Path | None = None,
    metadata: str | Path | None = None,
    key_column: str | None = None,
    label_columns: list[str] | None = None,
    encoding: str | None = None,
) -> Dataset:
    """A `Dataset` from an audio folder (and a metadata table). See the module docstring for the rules."""
    if path is None:
        raise MusiclustError("the folder dataset needs --data-path DIR (a folder of audio files)")
    root = Path(path)
    files = _check_root(root)
    if metadata is None:
        return _from_folders(root, files, label_columns)
    return _from_metadata(root, files, Path(metadata), key_column, label_columns, encoding)


def _from_folders(root: Path, files: list[Path], label_columns: list[str] | None) -> Dataset:
    name = (label_columns or [FOLDER_LABEL])[0]
    rel = [p.relative_to(root) for p in files]
    labels = [r.parts[0] if len(r.parts) > 1 else "" for r in rel]
    if not any(labels):
        raise MusiclustError(
            f"the audio in {root} is not in sub-folders, so it has no labels: put each class in "
            f"its own sub-folder, or pass --metadata TABLE with a label column"
        )
    tracks = pd.DataFrame({"track_id": _track_ids(files, root), "audio_path": [str(p) for p in files], name: labels})
    return Dataset(
        "folder",
        tracks,
        [name],
        name,
        f"Audio folder {root.name}: {len(files)} files; labels from the first-level sub-folder names.",
        info={"labels_from": "sub-folder names"},
    )


def _from_metadata(
    root: Path,
    files: list[Path],
    metadata: Path,
    key_column: str | None,
    label_columns: list[str] | None,
    encoding: str | None,
) -> Dataset:
    table = read_table(metadata, encoding, what="metadata table")
    if key_column is not None:
        key = _column(table, key_column)
        if key is None:
            raise MusiclustError(
                f"{metadata.name} has no key column '{key_column}'; its columns are {list(table.columns)}"
            )
    else:
        key = next((c for c in (_column(table, k) for k in KEY_CANDIDATES) if c is not None), None)
        if key is None:
            raise MusiclustError(
                f"{metadata.name} has none of the key columns {list(KEY_CANDIDATES)}: pass "
                f"--key-column with the column naming each row's audio file"
            )
    labels = _label_columns(table, label_columns, metadata.name)
    skipped = []
    # a row equal in every cell to an earlier one says nothing new; any other row is paired on its own
    exact = exact_duplicate_rows(table)
    for i in table.index[exact]:
        skipped.append(
            {"item": f"metadata row {i + 2} ({key}={table.at[i, key]})", "reason": "exact duplicate of an earlier row"}
        )
    table = table[~exact.to_numpy()].reset_index(drop=True)
    _, dup_names = duplicate_keys(table[key])
    warn_duplicates(dup_names, f"metadata table {metadata.name} (column '{key}')")

    index = _FileIndex(files, root)
    matched_by = {"relative path": 0, "file name": 0, "stem": 0}
    used: dict[int, int] = {}  # audio index -> table row
    rows_audio: list[int | None] = []
    n_no_audio = 0
    for i, value in enumerate(table[key].astype(str)):
        hit, how = index.find(value)
        item = f"metadata row {i + 2} ({key}={value!r})"
        if hit is None:
            n_no_audio += 1
            skipped.append({"item": item, "reason": how})
        elif hit in used:
            skipped.append(
                {"item": item, "reason": f"duplicate key: names the same audio file as metadata row {used[hit] + 2}"}
            )
            hit = None
        else:
            used[hit] = i
            matched_by[how] += 1
        rows_audio.append(hit)
    audio_only = [j for j in range(len(files)) if j not in used]
    for j in audio_only:
        skipped.append({"item": str(files[j]), "reason": "audio without metadata: no table row names this file"})
    pairing = {
        "key_column": key,
        "matched": len(used),
        "audio_without_metadata": len(audio_only),
        "metadata_without_audio": n_no_audio,
        "duplicate_keys": len(dup_names),
        "audio_files": len(files),
        "metadata_rows": len(table) + int(exact.sum()),
        "matched_by": {k: v for k, v in matched_by.items() if v},
    }
    if len(used) < 0.5 * min(len(files), len(table)) or not used:
        # unmatched examples say most about why keys and files differ
        unmatched_rows = [i for i, h in enumerate(rows_audio) if h is None] or [0]
        example_key = str(table[key].iloc[unmatched_rows[0]]) if len(table) else "(none)"
        example_file = files[(audio_only or [0])[0]].relative_to(root).as_posix()
        pairing["examples"] = {"metadata_key": example_key, "audio_file": example_file}
        log.warning(
            "only %d of %d metadata rows matched an audio file; e.g. key %r vs file %r (keys match the "
            "path relative to %s, the file name or the stem; choose the column with --key-column)",
            len(used),
            len(table),
            example_key,
            example_file,
            root,
        )
    if not used:
        raise MusiclustError(
            f"no row of {metadata.name} matched an audio file under {root} (e.g. {key}="
            f"'{pairing['examples']['metadata_key']}' vs file '{pairing['examples']['audio_file']}'); "
            f"pass --key-column with the column holding the file names"
        )

    rows = [(i, h) for i, h in enumerate(rows_audio) if h is not None]
    sel = table.iloc[[i for i, _ in rows]].reset_index(drop=True)
    tracks = pd.DataFrame(
        {"track_id": _track_ids([files[h] for _, h in rows], root), "audio_path": [str(files[h]) for _, h in rows]}
    )
    lyr = next((c for c in (_column(table, n) for n in LYRICS_CANDIDATES) if c is not None), None)
    for c in sel.columns:
        if c in (key, lyr) or c in ("track_id", "audio_path"):
            continue
        tracks[c] = sel[c].to_numpy()
    if lyr is not None:
        tracks["lyrics"] = sel[lyr].astype(str).to_numpy()
        tracks["has_lyrics"] = tracks["lyrics"].str.strip() != ""
    lang = next((c for c in labels if c.lower() == "language"), None)
    if lang is not None:
        from .lyrics import language_code

        tracks = tracks.rename(columns={lang: "language"})
        labels = ["language" if c == lang else c for c in labels]
        tracks["language"] = tracks["language"].map(language_code).replace({"und": ""})
        tracks["language_source"] = "metadata"
    for c in labels:
        tracks[c] = tracks[c].astype(str).replace({"nan": ""})
    description = (
        f"Audio folder {root.name} with metadata {metadata.name}: {len(tracks)} tracks paired with their "
        f"table rows by '{key}'."
    )
    return with_detected_language(tracks, labels, "folder", description, skipped, {"pairing": pairing})


def _label_columns(table: pd.DataFrame, requested: list[str] | None, name: str) -> list[str]:
    """The requested label columns (renamed to the table's spelling), or the defaults the table has."""
    if requested:
        out = []
        for want in requested:
            c = _column(table, want)
            if c is None:
                raise MusiclustError(f"{name} has no label column '{want}'; its columns are {list(table.columns)}")
            out.append(c)
        return list(dict.fromkeys(out))
    genre = next((c for c in (_column(table, n) for n in LABEL_CANDIDATES) if c is not None), None)
    out = [c for c in (genre, _column(table, "language")) if c is not None]
    if not out and next((c for c in (_column(table, n) for n in LYRICS_CANDIDATES) if c is not None), None) is None:
        raise MusiclustError(
            f"{name} has no label column (looked for {list(LABEL_CANDIDATES) + ['language']}): pass --label-column NAME"
        )
    return out
