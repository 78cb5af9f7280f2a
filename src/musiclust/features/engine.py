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
    return _work_chunk([path], [feature_sets], [keys], cache_root)[0]


def _one_line(exc: Exception) -> str:
    return f"feature extraction failed: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"


def _work_chunk(
    paths: list[str],
    feature_sets: list[list[str]],
    keys: list[dict[str, str | None]],
    cache_root: str | None,
    single_thread: bool = False,
) -> list[dict]:
    """Runs in a worker: several files, each decoded once; the spectral sets per file, the network sets (musicnn) of
    all the files in shared batches. One result per path, as `_work` returns it; never raises for bad audio."""
    results: list[dict] = [{} for _ in paths]
    decoded: dict[int, tuple[np.ndarray, dict]] = {}
    for j, path in enumerate(paths):
        try:
            decoded[j] = audio.read(path)
        except audio.AudioDecodeError as exc:
            results[j] = {"error": str(exc)}
        except Exception as exc:  # a library failure on one odd file must not stop a 1000-file extraction
            results[j] = {"error": _one_line(exc)}
    out: dict[int, dict] = {j: {} for j in decoded}
    for j, (y, info) in decoded.items():
        spectral = [fs for fs in feature_sets[j] if fs not in audio.NETWORK_SETS]
        if not spectral:
            continue
        try:
            computed = audio.compute_many(audio.resample(y, info["orig_sr"], audio.SAMPLE_RATE), spectral)
        except audio.AudioDecodeError as exc:
            results[j] = {"error": str(exc)}
            continue
        except Exception as exc:
            results[j] = {"error": _one_line(exc)}
            continue
        for fs, (values, columns, notes) in computed.items():
            out[j][fs] = (values, columns, notes)
    checkpoints = sorted({audio.network_of(fs) for sets in feature_sets for fs in sets} - {None})
    if checkpoints and single_thread:
        _single_threaded_tensorflow()
    for checkpoint in checkpoints:
        rows = [
            j
            for j in decoded
            if "error" not in results[j] and any(audio.network_of(fs) == checkpoint for fs in feature_sets[j])
        ]
        if not rows:
            continue
        from . import musicnn

        y16 = {}
        for j in rows:
            try:
                y16[j] = audio.resample(decoded[j][0], decoded[j][1]["orig_sr"], musicnn.SR)
            except Exception as exc:
                results[j] = {"error": _one_line(exc)}
        rows = [j for j in rows if j in y16]
        if not rows:
            continue
        sequences = any(
            fs in audio.PATCH_SETS and audio.network_of(fs) == checkpoint for j in rows for fs in feature_sets[j]
        )
        try:
            per_clip = audio.network_features([y16[j] for j in rows], checkpoint, want_sequences=sequences)
        except Exception as exc:  # the network failing on a batch skips its files with the reason, never the run
            for j in rows:
                results[j] = {"error": _one_line(exc)}
            continue
        for j, sets in zip(rows, per_clip):
            notes = {"musicnn_patches": max(1, len(y16[j]) // (musicnn.HOP * musicnn.PATCH_FRAMES))}
            for fs, values in sets.items():
                # every vector output of the network is cached, asked for or not: the tags and pools come for free
                out[j][fs] = (values, audio.network_columns(fs), notes)
    for j, (_, info) in decoded.items():
        if "error" in results[j]:
            continue
        sets_out = {}
        for fs, (values, columns, notes) in out[j].items():
            key = keys[j].get(fs)
            if cache_root is not None and key is not None:
                arrays = {"values": values}
                if columns is not None:
                    arrays["columns"] = np.array(columns)
                FeatureCache(cache_root).save(fs, key, **arrays)
            if fs in feature_sets[j]:
                sets_out[fs] = {
                    "values": values,
                    "columns": columns,
                    "notes": {**notes, "orig_sr": info["orig_sr"], "channels": info["channels"]},
                }
        results[j] = {"sets": sets_out}
    return results


def _single_threaded_tensorflow() -> None:
    """One TensorFlow thread per worker process (several workers share the cores)."""
    from ..logs import import_tensorflow

    tf = import_tensorflow()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialized in this worker by an earlier chunk
        pass


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
    for checkpoint in sorted({audio.network_of(fs) for fs in feature_sets} - {None}):
        from . import musicnn

        musicnn.checkpoint_dir(checkpoint)  # missing or corrupt weights: one line with the fix, before any work
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
                keys[fs][i] = entry_key(content_key(p, sha256[i] if sha256 else None), fs, audio.params_for(fs))
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
        job_keys = {i: _job_keys(i, paths[i], feature_sets, keys, sha256, cache) for i in todo}
        handle(first, _work(paths[first], missing[first], job_keys[first], cache_root))
        # Network sets run on the patches of several clips at once (batched inference); spectral sets clip by clip.
        per_job = NETWORK_CHUNK if any(fs in audio.NETWORK_SETS for fs in feature_sets) else 1
        chunks = [rest[c : c + per_job] for c in range(0, len(rest), per_job)]
        single = n_jobs != 1 or dask_scheduler is not None
        label = "+".join(feature_sets)
        with (
            _backend(dask_scheduler),
            tqdm(total=len(todo), initial=1, desc=f"features ({label})", unit="clip", disable=not progress) as bar,
        ):
            jobs = Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_work_chunk)(
                    [paths[i] for i in chunk],
                    [missing[i] for i in chunk],
                    [job_keys[i] for i in chunk],
                    cache_root,
                    single,
                )
                for chunk in chunks
            )
            for chunk, results in zip(chunks, jobs):
                for i, res in zip(chunk, results):
                    handle(i, res)
                bar.update(len(chunk))

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


NETWORK_CHUNK = 8  # clips per job when a network set is extracted: their patches share the network's batches


def _job_keys(i, path, feature_sets, keys, sha256, cache) -> dict[str, str | None]:
    """The cache keys a job writes for file ``i``: its requested sets, and every other output of a network it runs."""
    out = {fs: keys[fs][i] for fs in feature_sets}
    if cache is None:
        return out
    for fs in feature_sets:
        if audio.network_of(fs) and keys[fs][i] is not None:
            content = content_key(path, sha256[i] if sha256 else None)
            for other in audio.network_sets_of(audio.network_of(fs)):
                out.setdefault(other, entry_key(content, other, audio.params_for(other)))
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
