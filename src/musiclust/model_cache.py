"""On-disk cache of trained models: a repeated run reuses each model already trained on the same inputs, with the same
settings and seed, by the same code, instead of training it again.

Training is deterministic here (seeded, TensorFlow's op determinism on), so a model trained twice on the same inputs
is the same model: the cache changes no number, only how long a repeated study takes (the default study trains 51
models; a run that only changes its clusterers, labels, k or report retrains none of them).

An entry is keyed by the sha256 of everything that decides the trained model: the representation's name and seed, its
full parameters, the content of every input array it reads (audio features, lyrics, their mask, the condition,
log-mel stacks), whether the worker ran TensorFlow on one thread, the versions of TensorFlow, Keras and NumPy, and the
source text of the code that trains it (``models/``, ``representations.py``, ``features/text.py``), so editing that
code retrains. Layout: ``<cache_dir>/models/<key[:2]>/<key>/`` holding ``result.npz`` (``Z``, ``rows``),
``result.json`` (note, training history, training seconds) and the saved model (``model.keras``, ``model.json``).
An entry is written to a temporary folder and renamed into place; one that fails to load is a miss and is replaced.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

MODEL_CACHE_VERSION = 1
# the code whose behaviour decides a trained model (relative to the package folder)
TRAINING_CODE = ("models", "representations.py", "features/text.py")
# Inputs fields a representation may read (see representations.Inputs)
ARRAY_FIELDS = ("audio", "lyrics", "lyrics_mask", "logmel", "musicnn_logmel", "musicnn_frontend", "condition")


@cache
def code_digest() -> str:
    """sha256 of the source files in `TRAINING_CODE`, in sorted order (path and text)."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    files = []
    for part in TRAINING_CODE:
        p = root / part
        files.extend(sorted(p.rglob("*.py")) if p.is_dir() else [p])
    for f in files:
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _versions() -> dict[str, str]:
    out = {}
    for lib in ("tensorflow", "keras", "numpy"):
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:
            out[lib] = "not installed"
    return out


def array_digest(a, chunk_rows: int = 64) -> str:
    """sha256 of an array's dtype, shape and values; a memory map is read in chunks of rows, never whole."""
    h = hashlib.sha256()
    if a is None:
        return "none"
    a = a if isinstance(a, np.memmap) else np.asarray(a)
    if a.dtype.kind in "OUS":  # condition labels: strings
        h.update(json.dumps([str(v) for v in a.tolist()]).encode())
        return h.hexdigest()
    h.update(f"{a.dtype.str}{a.shape}".encode())
    for start in range(0, max(len(a), 1), chunk_rows):
        h.update(np.ascontiguousarray(a[start : start + chunk_rows]).tobytes())
    return h.hexdigest()


def inputs_digest(inputs) -> str:
    """sha256 of the arrays and settings of a `representations.Inputs` that a model may read."""
    parts = {f: array_digest(getattr(inputs, f)) for f in ARRAY_FIELDS}
    parts.update(
        modality_weights=inputs.modality_weights,
        condition_column=inputs.condition_column,
        main=inputs.main,
        features=inputs.features,
    )
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def entry_key(name: str, seed: int, params: dict, inputs_sha: str, single_thread: bool) -> str:
    blob = {
        "name": name,
        "seed": int(seed),
        "params": params,
        "inputs": inputs_sha,
        "single_thread": bool(single_thread),
        "code": code_digest(),
        "versions": _versions(),
        "v": MODEL_CACHE_VERSION,
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()


class ModelCache:
    """A folder of trained-model entries under ``<root>/models/``."""

    def __init__(self, root: str | Path):
        self.root = Path(root) / "models"

    def path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def load(self, key: str, model_stem: Path) -> dict | None:
        """The cached result (``Z``, ``rows``, ``note``, ``history``, ``seconds``, ``model_path``), with its saved model
        copied to ``model_stem`` (``.keras`` and ``.json``); None when absent or unreadable."""
        folder = self.path(key)
        if not (folder / "result.json").is_file():
            return None
        try:
            info = json.loads((folder / "result.json").read_text())
            with np.load(folder / "result.npz", allow_pickle=False) as npz:
                Z = npz["Z"]
                rows = npz["rows"] if "rows" in npz.files else None
            if Z.ndim != 2 or not np.isfinite(Z).all():
                return None
            model_stem.parent.mkdir(parents=True, exist_ok=True)
            for suffix in (".keras", ".json"):
                shutil.copyfile(folder / f"model{suffix}", model_stem.with_suffix(suffix))
        except (OSError, ValueError, KeyError, EOFError):
            return None
        return {
            "Z": Z,
            "rows": rows,
            "note": info["note"],
            "history": info["history"],
            "model_path": str(model_stem.with_suffix(".keras")),
            "seconds": info["seconds"],
        }

    def save(self, key: str, result: dict) -> None:
        """Store a freshly trained result (its ``model_path`` names the saved ``.keras`` beside its ``.json``). Best
        effort: a cache that cannot be written (full disk, read-only folder) costs the run nothing."""
        folder = self.path(key)
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{key[:12]}.", suffix=".part"))
            try:
                arrays = {"Z": np.asarray(result["Z"])}
                if result["rows"] is not None:
                    arrays["rows"] = np.asarray(result["rows"])
                with open(tmp / "result.npz", "wb") as fh:
                    np.savez(fh, **arrays)
                stem = Path(result["model_path"]).with_suffix("")
                for suffix in (".keras", ".json"):
                    shutil.copyfile(stem.with_suffix(suffix), tmp / f"model{suffix}")
                meta = {"note": result["note"], "history": result["history"], "seconds": result["seconds"]}
                (tmp / "result.json").write_text(json.dumps(meta))
                if folder.exists():  # a stale or unreadable entry (a readable one was loaded instead)
                    shutil.rmtree(folder, ignore_errors=True)
                os.replace(tmp, folder)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
        except OSError:
            pass


__all__ = ["ModelCache", "array_digest", "code_digest", "entry_key", "inputs_digest"]
