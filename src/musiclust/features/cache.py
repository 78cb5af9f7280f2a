"""On-disk feature cache: one ``.npz`` per (audio content, feature set, parameters), never pickle.

Keys hash the audio *content* (the manifest's sha256 when the dataset has one, otherwise path + size + mtime) together
with the feature set, its parameters and `CACHE_VERSION`; so changing a parameter or a file recomputes exactly the
affected entries. A file that fails to load (truncated, corrupt zip, wrong arrays) is treated as a miss and rewritten.
Writes go to a temporary name and are renamed into place, so a crash never leaves a half-written entry that looks valid.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

CACHE_VERSION = 1
DEFAULT_ROOT = Path("music_data") / "cache"


def content_key(path: str, sha256: str | None = None) -> str:
    """What identifies a file's content: its sha256 when known, else absolute path + size + modification time."""
    if sha256:
        return f"sha256:{sha256}"
    st = os.stat(path)
    return f"stat:{os.path.abspath(path)}:{st.st_size}:{st.st_mtime_ns}"


def entry_key(content: str, feature_set: str, params: dict) -> str:
    blob = json.dumps({"content": content, "set": feature_set, "params": params, "v": CACHE_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


class FeatureCache:
    """A folder of cached feature entries: ``<root>/<feature_set>/<key[:2]>/<key>.npz``."""

    def __init__(self, root: str | Path = DEFAULT_ROOT):
        self.root = Path(root)

    def path(self, feature_set: str, key: str) -> Path:
        return self.root / feature_set / key[:2] / f"{key}.npz"

    def load(self, feature_set: str, key: str, shape: tuple[int, ...] | None = None) -> dict | None:
        """The cached entry (``values``, and ``columns`` for vector sets), or None when absent, unreadable, or not what
        this set holds: other keys, values not of ``shape``, non-finite values, column names not matching."""
        path = self.path(feature_set, key)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as npz:
                entry = {name: npz[name] for name in npz.files}
            values = entry.get("values")
            if values is None or not set(entry) <= {"values", "columns"}:
                return None
            if shape is not None and tuple(values.shape) != tuple(shape):
                return None
            if "columns" in entry and (entry["columns"].ndim != 1 or len(entry["columns"]) != values.shape[0]):
                return None
            if not np.isfinite(values).all():
                return None
            return entry
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None

    def save(self, feature_set: str, key: str, **arrays: np.ndarray) -> None:
        path = self.path(feature_set, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)

    def stack_path(self, feature_set: str, keys: list[str]) -> Path:
        digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:24]
        return self.root / feature_set / f"stack-{digest}.npy"
