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


def _work(path: str, feature_sets: list[str], keys: dict[str, str | None], cache_root: str | None) -> dict:
    """Runs in a worker: one decode and one STFT for all ``feature_sets`` (+ their cache entries).

    Returns ``{"sets": {set: {"values", "columns", "notes"}}}`` or ``{"error": reason}``; never raises for bad audio.
    """
    try:
        y, info = audio.decode(path)
        computed = audio.compute_many(y, feature_sets)
    except audio.AudioDecodeError as exc:
        return {"error": str(exc)}
    except Exception as exc:  # a library failure on one odd file must not stop a 1000-file extraction
        return {"error": f"feature extraction failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
    out = {}
    for fs, (values, columns, notes) in computed.items():
        if cache_root is not None and keys.get(fs) is not None:
            arrays = {"values": values}
            if columns is not None:
                arrays["columns"] = np.array(columns)
            FeatureCache(cache_root).save(fs, keys[fs], **arrays)
        out[fs] = {
            "values": values,
            "columns": columns,
            "notes": {**notes, "orig_sr": info["orig_sr"], "channels": info["channels"]},
        }
    return {"sets": out}


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
        raise MusiclustError(
            f"cannot reach the Dask scheduler at {dask_scheduler}: {str(exc).splitlines()[0]}"
        ) from None
    try:
        with parallel_config(backend="dask"):
            yield
    finally:
        client.close()


def extract(
    paths: list[str],
    feature_set: str = "mfcc",
    *,
    n_jobs: int = -1,
    progress: bool = True,
    cache: FeatureCache | None = None,
    sha256: list[str] | None = None,
    dask_scheduler: str | None = None,
) -> Extraction:
    """Extract one feature set from every path; see `Extraction` for what comes back."""
    return extract_many(
        paths,
        [feature_set],
        n_jobs=n_jobs,
        progress=progress,
        cache=cache,
        sha256=sha256,
        dask_scheduler=dask_scheduler,
    )[feature_set]


def extract_many(
    paths: list[str],
    feature_sets: list[str],
    *,
    n_jobs: int = -1,
    progress: bool = True,
    cache: FeatureCache | None = None,
    sha256: list[str] | None = None,
    dask_scheduler: str | None = None,
) -> dict[str, Extraction]:
    """Extract several feature sets in one pass: each file is decoded and transformed once for all of them.

    Cached sets are read from the cache; a file is analysed only for the sets it misses. A file that cannot be
    decoded is skipped (with its reason) in every set.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    unknown = [fs for fs in feature_sets if fs not in audio.FEATURE_SETS]
    if unknown:
        raise MusiclustError(f"unknown audio feature set {unknown}; choose from {sorted(audio.FEATURE_SETS)}")
    paths = [str(p) for p in paths]
    n = len(paths)
    keys: dict[str, list[str | None]] = {fs: [None] * n for fs in feature_sets}
    rows: dict[str, dict[int, np.ndarray | None]] = {fs: {} for fs in feature_sets}
    columns: dict[str, list[str] | None] = {}
    notes: dict[str, dict[int, dict]] = {fs: {} for fs in feature_sets}
    errors: dict[int, str] = {}
    missing: dict[int, list[str]] = {}
    n_cached = {fs: 0 for fs in feature_sets}
    for i, p in enumerate(paths):
        need = []
        for fs in feature_sets:
            if cache is None:
                need.append(fs)
                continue
            try:
                keys[fs][i] = entry_key(content_key(p, sha256[i] if sha256 else None), fs, audio.FEATURE_PARAMS)
            except OSError as exc:
                errors[i] = f"cannot read file: {exc.strerror}"
                break
            entry = cache.load(fs, keys[fs][i], audio.FEATURE_SHAPES.get(fs))
            if entry is None or (fs not in audio.PATCH_SETS and "columns" not in entry):
                need.append(fs)
                continue
            # Patches are re-read from the cache when stacked, so they never all sit in memory at once.
            rows[fs][i] = None if fs in audio.PATCH_SETS else entry["values"]
            if "columns" in entry:
                columns.setdefault(fs, [str(c) for c in entry["columns"]])
            notes[fs][i] = {"cached": True}
            n_cached[fs] += 1
        if i not in errors and need:
            missing[i] = need
    cache_root = str(cache.root) if cache is not None else None

    def handle(i: int, res: dict) -> None:
        if "error" in res:
            errors[i] = res["error"]
            return
        for fs, r in res["sets"].items():
            keep_in_ram = cache is None or fs not in audio.PATCH_SETS
            rows[fs][i] = r["values"] if keep_in_ram else None
            columns.setdefault(fs, r["columns"])
            notes[fs][i] = r["notes"]

    todo = list(missing)
    if todo:
        # The first clip is analysed here, before any worker starts: it compiles librosa's and our numba kernels
        # once and writes their on-disk caches. Worker processes compiling them at the same moment on a fresh
        # install race on those cache files, and a corrupt cache crashes (segfaults) every later process.
        first, rest = todo[0], todo[1:]
        handle(first, _work(paths[first], missing[first], {fs: keys[fs][first] for fs in feature_sets}, cache_root))
        label = "+".join(feature_sets)
        with (
            _backend(dask_scheduler),
            tqdm(total=len(todo), initial=1, desc=f"features ({label})", unit="clip", disable=not progress) as bar,
        ):
            jobs = Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_work)(paths[i], missing[i], {fs: keys[fs][i] for fs in feature_sets}, cache_root) for i in rest
            )
            for i, res in zip(rest, jobs):
                handle(i, res)
                bar.update(1)

    kept = [i for i in range(n) if i not in errors]
    skipped = [{"item": paths[i], "reason": errors[i]} for i in range(n) if i in errors]
    if not kept:
        raise MusiclustError("no audio file could be decoded; see the skipped list for the reasons")
    out = {}
    for fs in feature_sets:
        fs_notes = [notes[fs].get(i, {}) for i in kept]
        if fs not in audio.PATCH_SETS:
            X = np.vstack([rows[fs][i] for i in kept]).astype(np.float64)
            out[fs] = Extraction(X, columns.get(fs), kept, skipped, fs_notes, n_cached[fs])
        elif cache is None:
            X = np.stack([rows[fs][i] for i in kept]).astype(np.float32)
            out[fs] = Extraction(X, None, kept, skipped, fs_notes, n_cached[fs])
        else:
            out[fs] = Extraction(
                _stack(cache, fs, [keys[fs][i] for i in kept]), None, kept, skipped, fs_notes, n_cached[fs]
            )
    return out


def _stack(cache: FeatureCache, feature_set: str, keys: list[str]) -> np.ndarray:
    """A read-only memory map ``(n, ...)`` of cached patches, written row by row (reused when identical)."""
    stack_path = cache.stack_path(feature_set, keys)
    first = cache.load(feature_set, keys[0], audio.FEATURE_SHAPES.get(feature_set))["values"]
    shape = (len(keys), *first.shape)
    if stack_path.exists():
        try:
            existing = np.load(stack_path, mmap_mode="r")
            if existing.shape == shape:
                return existing
        except (OSError, ValueError):
            pass
    tmp = stack_path.with_name(stack_path.name + ".part")
    stack = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
    for row, key in enumerate(keys):
        stack[row] = cache.load(feature_set, key, audio.FEATURE_SHAPES.get(feature_set))["values"]
    stack.flush()
    del stack
    tmp.replace(stack_path)
    return np.load(stack_path, mmap_mode="r")
