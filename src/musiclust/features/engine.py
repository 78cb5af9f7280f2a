"""Parallel, cached feature extraction over a collection of audio files.

Each file is decoded once and analysed once (see `audio.ClipSpectra`). Work is spread over processes with joblib
(``n_jobs``), or over a Dask cluster through joblib's Dask backend when a scheduler address is given (the workers must
see the same file paths, e.g. on a shared file system). Results stream back in order: vector features are small, and
patch features (log-mel) are written straight into a memory-mapped ``.npy`` stack, so extracting a collection larger
than memory never holds more than a few clips at once.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

import numpy as np

from ..errors import MusiclustError
from . import audio
from .cache import FeatureCache, content_key, entry_key

log = logging.getLogger(__name__)


@dataclass
class Extraction:
    """Features of the files that decoded.

    ``X``: ``(n_kept, n_features)`` for vector sets, or a read-only memory map ``(n_kept, n_mels, n_frames)`` for
    patch sets; ``kept``: indices into the input paths; ``skipped``: ``{"item", "reason"}`` per failed file;
    ``notes``: per kept file, what was done to it (padding, ...); ``n_cached``: entries served from the cache.
    """

    X: np.ndarray
    columns: list[str] | None
    kept: list[int]
    skipped: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    n_cached: int = 0


def _work(path: str, feature_set: str, key: str | None, cache_root: str | None) -> dict:
    """Runs in a worker: decode + features (+ write the cache entry). Never raises for bad audio."""
    try:
        y, info = audio.decode(path)
        values, columns, notes = audio.compute(y, feature_set)
    except audio.AudioDecodeError as exc:
        return {"error": str(exc)}
    except Exception as exc:  # a library failure on one odd file must not stop a 1000-file extraction
        return {"error": f"feature extraction failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
    if cache_root is not None and key is not None:
        arrays = {"values": values}
        if columns is not None:
            arrays["columns"] = np.array(columns)
        FeatureCache(cache_root).save(feature_set, key, **arrays)
    return {"values": values, "columns": columns, "notes": {**notes, "orig_sr": info["orig_sr"],
                                                            "channels": info["channels"]}}


@contextlib.contextmanager
def _backend(dask_scheduler: str | None):
    if dask_scheduler is None:
        yield
        return
    try:
        from dask.distributed import Client
    except ImportError:
        raise MusiclustError("the Dask backend needs: pip install 'dask[distributed]'") from None
    from joblib import parallel_config

    try:
        client = Client(dask_scheduler, timeout=30)
    except Exception as exc:
        raise MusiclustError(f"cannot reach the Dask scheduler at {dask_scheduler}: {str(exc).splitlines()[0]}") \
            from None
    try:
        with parallel_config(backend="dask"):
            yield
    finally:
        client.close()


def extract(paths: list[str], feature_set: str = "mfcc", *, n_jobs: int = -1, progress: bool = True,
            cache: FeatureCache | None = None, sha256: list[str] | None = None,
            dask_scheduler: str | None = None) -> Extraction:
    """Extract ``feature_set`` from every path; see `Extraction` for what comes back."""
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    if feature_set not in audio.FEATURE_SETS:
        raise MusiclustError(f"unknown audio feature set '{feature_set}'; choose one of {sorted(audio.FEATURE_SETS)}")
    paths = [str(p) for p in paths]
    keys: list[str | None] = [None] * len(paths)
    results: list[dict | None] = [None] * len(paths)
    n_cached = 0
    if cache is not None:
        for i, p in enumerate(paths):
            try:
                keys[i] = entry_key(content_key(p, sha256[i] if sha256 else None), feature_set, audio.FEATURE_PARAMS)
            except OSError as exc:
                results[i] = {"error": f"cannot read file: {exc.strerror}"}
                continue
            entry = cache.load(feature_set, keys[i])
            if entry is not None:
                cols = [str(c) for c in entry["columns"]] if "columns" in entry else None
                results[i] = {"values": entry["values"], "columns": cols, "notes": {"cached": True}}
                n_cached += 1
    todo = [i for i in range(len(paths)) if results[i] is None]
    cache_root = str(cache.root) if cache is not None else None

    is_patch = feature_set in audio.PATCH_SETS
    stack = None
    out_rows: dict[int, np.ndarray] = {}

    def handle(i: int, res: dict) -> None:
        results[i] = res if "error" in res else {"columns": res["columns"], "notes": res["notes"]}
        if "error" not in res:
            out_rows[i] = res["values"]

    for i in range(len(paths)):
        if results[i] is not None and "values" in results[i]:
            out_rows[i] = results[i].pop("values")

    if todo:
        # The first clip is analysed here, before any worker starts: it compiles librosa's and our numba kernels
        # once and writes their on-disk caches. Worker processes compiling them at the same moment on a fresh
        # install race on those cache files, and a corrupt cache crashes (segfaults) every later process.
        first, rest = todo[0], todo[1:]
        handle(first, _work(paths[first], feature_set, keys[first], cache_root))
        with _backend(dask_scheduler), tqdm(total=len(todo), initial=1, desc=f"features ({feature_set})",
                                            unit="clip", disable=not progress) as bar:
            jobs = Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_work)(paths[i], feature_set, keys[i], cache_root) for i in rest
            )
            for i, res in zip(rest, jobs):
                handle(i, res)
                bar.update(1)
                if is_patch and cache is not None and i in out_rows:
                    out_rows[i] = None  # the patch is in the cache; re-read it when stacking, not kept in RAM
        if is_patch and cache is not None and first in out_rows:
            out_rows[first] = None

    kept = [i for i in range(len(paths)) if "error" not in results[i]]
    skipped = [{"item": paths[i], "reason": results[i]["error"]} for i in range(len(paths)) if "error" in results[i]]
    if not kept:
        raise MusiclustError("no audio file could be decoded; see the skipped list for the reasons")
    notes = [results[i]["notes"] for i in kept]
    columns = results[kept[0]]["columns"]

    if not is_patch:
        X = np.vstack([out_rows[i] for i in kept]).astype(np.float64)
        return Extraction(X, columns, kept, skipped, notes, n_cached)

    # Patch sets: stream into a memory-mapped stack, keyed by the ordered entries (reused when identical).
    if cache is None:
        X = np.stack([out_rows[i] for i in kept]).astype(np.float32)
        return Extraction(X, None, kept, skipped, notes, n_cached)
    stack_path = cache.stack_path(feature_set, [keys[i] for i in kept])
    first = out_rows[kept[0]] if out_rows[kept[0]] is not None else cache.load(feature_set, keys[kept[0]])["values"]
    shape = (len(kept), *first.shape)
    if stack_path.exists():
        try:
            existing = np.load(stack_path, mmap_mode="r")
            if existing.shape == shape:
                return Extraction(existing, None, kept, skipped, notes, n_cached)
        except (OSError, ValueError):
            pass
    tmp = stack_path.with_name(stack_path.name + ".part")
    stack = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
    for row, i in enumerate(kept):
        values = out_rows.pop(i, None)
        stack[row] = values if values is not None else cache.load(feature_set, keys[i])["values"]
    stack.flush()
    del stack
    tmp.replace(stack_path)
    return Extraction(np.load(stack_path, mmap_mode="r"), None, kept, skipped, notes, n_cached)
