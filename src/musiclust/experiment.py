"""The experiment: dataset -> features -> representations -> clustering -> metrics -> ``results/<run-id>/``.

This is the only module that knows every stage; each stage knows nothing of the ones after it.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

from . import __version__, atomic
from .cards import save_words
from .clustering import CLUSTERERS, UMAP_PARAMS
from .config import CROP_MODELS, ExperimentConfig
from .datasets import LOADERS, load_dataset
from .datasets.base import pairing_line
from .datasets.language import ensure_language
from .errors import MusiclustError
from .evaluation import assignments_table, resolve_targets, score, summarize
from .explorer import first_line, write_explorer
from .features import audio as audio_features
from .features import build_features_many
from .features.text import has_text, lyrics_features
from .features.words import track_word_counts
from .logs import quiet_tensorflow
from .model_cache import ModelCache, entry_key, inputs_digest
from .representations import REPRESENTATIONS, Inputs, is_model, missing_requirements, split_name

log = logging.getLogger(__name__)

LIBRARIES = (
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "librosa",
    "soundfile",
    "soxr",
    "umap-learn",
    "matplotlib",
    "music21",
    "pretty_midi",
    "midirenderer",
    "joblib",
    "tensorflow",
    "keras",
    "lingua-language-detector",
)
METRICS_CSV = "metrics.csv"
SUMMARY_CSV = "summary.csv"


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "musiclust": __version__}
    for lib in LIBRARIES:
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:
            out[lib] = "not installed"
    return out


def drop_repeats(config: ExperimentConfig) -> list[str]:
    """Seeds, representations and clusterers named twice run once (each would otherwise be run and counted twice in
    the means over seeds); returns a line per list that had repeats."""
    lines = []
    for attr, what in (("seeds", "seed"), ("representations", "representation"), ("clusterers", "clusterer")):
        values = list(getattr(config, attr))
        unique = list(dict.fromkeys(values))
        if len(unique) < len(values):
            repeated = sorted({str(v) for v in values if values.count(v) > 1})
            lines.append(f"{what}(s) {', '.join(repeated)} given more than once: each runs once")
            setattr(config, attr, unique)
    return lines


def validate_config(config: ExperimentConfig) -> None:
    """Fail fast, with one line, on names that no registry knows and on impossible values."""
    if config.dataset.name not in LOADERS:
        raise MusiclustError(f"unknown dataset '{config.dataset.name}'; choose one of: {', '.join(sorted(LOADERS))}")
    for kind, names, registry in (
        ("representation", config.representations, REPRESENTATIONS),
        ("clusterer", config.clusterers, CLUSTERERS),
    ):
        if not names:
            raise MusiclustError(f"no {kind} selected")
        bad = [n for n in names if n not in registry]
        if bad:
            raise MusiclustError(f"unknown {kind}(s) {bad}; choose from {sorted(registry)}")
    for entry in config.cards:
        if (
            not isinstance(entry, list)
            or len(entry) not in (2, 3)
            or entry[0] not in config.representations
            or (entry[1] not in config.clusterers)
        ):
            raise MusiclustError(
                f"cards entry {entry!r}: give [representation, clusterer] or [representation, clusterer, k] from "
                f"this run's representations and clusterers"
            )
    from .datasets.msd import FEATURE_SETS as MSD_SETS

    vector_sets = sorted(set(audio_features.FEATURE_SETS) - audio_features.PATCH_SETS)
    if config.dataset.name == "msd" or config.features in MSD_SETS:
        if config.dataset.name != "msd":
            raise MusiclustError(f"--features {config.features} is the MSD's analysis: it needs --dataset msd")
        if config.features not in [*MSD_SETS, "mfcc"]:  # mfcc: the default, which the MSD has no audio for
            raise MusiclustError(
                f"the msd dataset has feature sets {sorted(MSD_SETS)} (got --features {config.features})"
            )
    for part in config.features.split("+") if config.dataset.name != "msd" else []:
        if part not in vector_sets:
            raise MusiclustError(
                f"unknown feature set '{part}' for --features; choose from {vector_sets} (or several joined by '+', "
                f"e.g. mfcc+musicnn)"
            )
    if not config.seeds:
        raise MusiclustError("no seeds given: pass at least one, e.g. --seeds 0 1 2")
    bad_seeds = [seed for seed in config.seeds if not 0 <= seed < 2**32]
    if bad_seeds:
        raise MusiclustError(f"seeds must be whole numbers from 0 to 2**32 - 1 (got {bad_seeds})")
    if config.run_name is not None:
        name = str(config.run_name)
        if not name.strip() or name.strip(".") == "" or any(ch in name for ch in "/\\\0") or name != name.strip():
            raise MusiclustError(
                f"--run-name {name!r} must be a plain folder name (no '/', '\\', '..' or surrounding spaces): run "
                f"folders are created inside --output-dir"
            )
    if config.cache_dir is not None:
        cache = Path(config.cache_dir)
        if cache.exists() and not cache.is_dir():
            raise MusiclustError(f"--cache-dir {cache} is a file, not a folder: pass a folder (or --no-cache)")
    if isinstance(config.k, str) and config.k != "auto":
        raise MusiclustError(f"k must be a number or 'auto' (got {config.k!r})")
    if isinstance(config.k, int) and config.k < 2:
        raise MusiclustError(f"k must be at least 2 (got {config.k})")
    for name in ("latent_dim", "epochs", "batch_size"):
        if getattr(config, name) < 1:
            raise MusiclustError(f"{name} must be at least 1 (got {getattr(config, name)})")


def new_run_dir(output_dir: str | Path, prefix: str) -> Path:
    """A fresh folder ``<output_dir>/<prefix>-<UTC time>[-N]``; never reuses an existing one."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        path = output_dir / (f"{prefix}-{stamp}" + (f"-{n}" if n > 1 else ""))
        try:
            path.mkdir()  # atomic: two runs started in the same second still get different folders
            return path
        except FileExistsError:
            continue
    raise MusiclustError(f"cannot create a new run folder in {output_dir}")


def check_output_dir(output_dir: str | Path) -> Path:
    """Fail with one line, before any work, when run folders cannot be created in ``output_dir``.

    The results folder itself is created here if needed (a run folder inside it is created only once the inputs have
    validated), and a probe file is written and removed: permission bits alone do not tell (root, read-only mounts).
    """
    path = Path(output_dir)
    if path.exists() and not path.is_dir():
        raise MusiclustError(f"--output-dir {path} is a file, not a folder: pass a folder for the results")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".musiclust-probe-"):
            pass
    except OSError as exc:
        raise MusiclustError(
            f"--output-dir {path} is not writable ({exc.strerror or type(exc).__name__}): pass a "
            f"folder you can write to"
        ) from None
    return path


def append_csv_locked(path: Path, df: pd.DataFrame) -> None:
    """Append rows to a CSV shared by all runs, under a file lock, rewriting it atomically.

    Runs writing into the same ``--output-dir`` at once take turns (filelock), so no run's rows are lost and no
    half-written line appears; columns may differ between runs (the union is kept).
    """
    from filelock import FileLock

    with FileLock(str(path) + ".lock", timeout=600):
        if path.exists():
            try:
                df = pd.concat([pd.read_csv(path), df], ignore_index=True)
            except Exception:  # an unreadable shared file is kept aside, never silently dropped
                path.rename(path.with_suffix(f".unreadable-{int(time.time())}.csv"))
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        df.to_csv(tmp, index=False)
        os.replace(tmp, path)


# --- inputs -------------------------------------------------------------------------------------------------------
def _prepare_inputs(
    dataset,
    X: np.ndarray,
    config: ExperimentConfig,
    logmel,
    main: str = "audio",
    alternatives: dict | None = None,
    unavailable: dict | None = None,
) -> tuple[Inputs, dict]:
    """Lyrics features, log-mel patches and the condition, each only when the data has them and a chosen
    representation needs them. Returns the inputs and what was done (for config.json).

    ``main="lyrics"``: ``X`` already is the lyrics (a lyrics table), so no separate lyrics block is built."""
    tracks = dataset.tracks
    info: dict = {}
    inputs = Inputs(audio=X, modality_weights=dict(config.modality_weights), main=main, features=config.features)
    needs = {r for name in config.representations for r in REPRESENTATIONS[name].requires}
    if main == "lyrics":
        info["lyrics_features"] = "word + character n-gram TF-IDF, truncated SVD, L2-normalized (the feature matrix)"
        info["lyrics_dim"] = int(X.shape[1])
        info["tracks_with_lyrics"] = len(X)
    elif "lyrics" in needs and "lyrics" in tracks.columns:
        texts = tracks["lyrics"].fillna("").astype(str).tolist()
        mask = has_text(texts)
        info["tracks_with_lyrics"] = int(mask.sum())
        if mask.sum() >= 2:
            if config.lyrics_model:  # optional backend, loaded only when asked (never downloads)
                from .features.text import sentence_embeddings

                L, mask = sentence_embeddings(texts, config.lyrics_model)
                info["lyrics_features"] = f"sentence embeddings ({config.lyrics_model})"
            else:
                L, mask = lyrics_features(texts, dim=config.lyrics_dim, seed=config.seeds[0])
                info["lyrics_features"] = "word + character n-gram TF-IDF, truncated SVD, L2-normalized"
            inputs.lyrics, inputs.lyrics_mask = L, mask
            info["lyrics_dim"] = int(L.shape[1])
    if logmel is not None:
        inputs.logmel = logmel.X
        info["logmel_shape"] = list(logmel.X.shape)
    col = config.condition_column
    if "condition" in needs and col and col in tracks.columns:
        if col == dataset.primary_label:
            info["condition"] = f"not used: '{col}' is the primary label being evaluated"
        else:
            inputs.condition = tracks[col].astype(str).to_numpy()
            inputs.condition_column = col
            info["condition"] = col
    # the same tracks on another feature set, for <representation>@<set>: everything else is shared
    inputs.alternatives = {
        name: replace(inputs, audio=Xa, features=name, alternatives={}, unavailable={})
        for name, Xa in (alternatives or {}).items()
    }
    inputs.unavailable = dict(unavailable or {})
    if inputs.alternatives:
        info["alternative_features"] = {name: int(Xa.shape[1]) for name, Xa in alternatives.items()}
    if inputs.unavailable:
        info["unavailable_features"] = dict(inputs.unavailable)
    return inputs, info


def _fit_model_representation(
    name: str, seed: int, inputs: Inputs, params: dict, models_dir: str, single_thread: bool = False
) -> dict:
    """Train one model representation (runs in a worker process); the model is saved, Z and history returned."""
    quiet_tensorflow()  # a worker started by another entry point must be as quiet as the main process
    if single_thread:
        # One model per process: TensorFlow's own thread pools would only oversubscribe the cores.
        from .logs import import_tensorflow

        tf = import_tensorflow()

        try:
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # already initialized in this worker by an earlier job
            pass
    t0 = time.perf_counter()
    try:
        rep = REPRESENTATIONS[name].build(inputs, params, seed)
    except MusiclustError as exc:  # one model that cannot train must not cost the run its other results
        return {"error": str(exc)}
    path = rep.model.save(Path(models_dir) / f"{name}_seed{seed}")
    return {
        "Z": rep.Z,
        "rows": rep.rows,
        "note": rep.note,
        "history": rep.model.history_,
        "model_path": str(path),
        "seconds": time.perf_counter() - t0,
    }


def _fit_model_task(
    task: list[tuple[str, int]], inputs: Inputs, params: dict, models_dir: str, single_thread: bool = False
) -> list[dict]:
    """Train the (representation, seed) pairs of one task in turn, in one worker process (see `_training_tasks`)."""
    return [_fit_model_representation(name, seed, inputs, params, models_dir, single_thread) for name, seed in task]


def _training_tasks(jobs: list[tuple[str, int]]) -> list[list[tuple[str, int]]]:
    """The (representation, seed) pairs to train, grouped into worker tasks, longest first.

    The seeds of a dense model share one task, so one worker traces that network's training graph once and reuses it
    for the other seeds (`models.trainers`: a dense fit is mostly tracing; the same weights either way). A
    convolutional model's fit is compute-bound and long, so each of its seeds is a task of its own, and the longest
    tasks start first, so the workers finish close together."""
    cost = {"multimodal": 1, "gmmvae": 2, "ae": 3, "cvae": 4}  # the crop models (CROP_MODELS) first: 0
    tasks: dict[tuple, list] = {}
    for name, seed in jobs:
        tasks.setdefault((name, seed) if split_name(name)[0] in CROP_MODELS else (name,), []).append((name, seed))

    def order(task):
        base = split_name(task[0][0])[0]
        return (0 if base in CROP_MODELS else cost.get(base, 9), task[0][1], task[0][0])

    return sorted(tasks.values(), key=order)


def _representations(
    config, inputs, run_dir, progress, extra_model_params=None, while_training=None
) -> tuple[dict, list[dict], object]:
    """Every applicable (representation, seed): ``{(name, seed): result}``, the skipped entries with reasons, and what
    ``while_training(direct_results)`` returned: it runs in a thread of this (otherwise idle) process while the worker
    processes train the models, so the direct representations are clustered in the meantime."""
    from concurrent.futures import ThreadPoolExecutor

    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    results, skipped = {}, []
    n_train = len(inputs.audio) - int(round(len(inputs.audio) * 0.1))

    def params_for(name: str) -> dict:
        model = {**config.model_params(name), **(extra_model_params or {})}
        # small collections: one batch holds the training split
        if split_name(name)[0] not in CROP_MODELS and model["batch_size"] > n_train:
            model["batch_size"] = max(1, n_train)
        return {"latent_dim": config.latent_dim, "model": model}

    models_dir = run_dir / "models"
    model_cache = ModelCache(config.cache_dir) if config.cache_dir is not None else None
    digests: dict[int, str] = {}  # one content hash per distinct Inputs (the main one and each alternative)
    jobs, keys = [], {}
    for name in config.representations:
        reason = missing_requirements(name, inputs)
        if reason:
            log.warning("skipping representation %s: %s", name, reason)
            skipped.append({"item": f"representation {name}", "reason": reason})
            continue
        spec = REPRESENTATIONS[name]
        for seed in config.seeds if spec.seeded else config.seeds[:1]:
            if is_model(name):
                jobs.append((name, seed))
            else:
                t0 = time.perf_counter()
                rep = spec.build(inputs.for_representation(name), params_for(name), seed)
                results[(name, seed)] = {
                    "Z": rep.Z,
                    "rows": rep.rows,
                    "note": rep.note,
                    "history": None,
                    "model_path": None,
                    "seconds": time.perf_counter() - t0,
                }
    # How TensorFlow runs in the workers is fixed by the whole list of models, before any comes from the cache, so a
    # model is trained the same way (and keyed the same) whichever of the others were cached.
    n_jobs = min(len(jobs), os.cpu_count() or 1) if config.n_jobs == -1 else max(1, min(config.n_jobs, len(jobs)))
    single_thread = n_jobs > 1
    if model_cache is not None:
        # A model trained before on the same inputs, settings, seed and code is the same model (training is
        # deterministic): it is taken from the cache instead of being trained again (see `model_cache`).
        for name, seed in jobs:
            rep_inputs = inputs.for_representation(name)
            if id(rep_inputs) not in digests:
                digests[id(rep_inputs)] = inputs_digest(rep_inputs)
            keys[(name, seed)] = entry_key(name, seed, params_for(name), digests[id(rep_inputs)], single_thread)
        if not config.retrain:
            for job in list(jobs):
                hit = model_cache.load(keys[job], models_dir / f"{job[0]}_seed{job[1]}")
                if hit is not None:
                    results[job] = {**hit, "cached": True}
                    jobs.remove(job)
    # (with nothing to train -- every model from the cache -- there is nothing to overlap with: None is returned and
    # the caller scores the direct representations with the others, in parallel)
    pool = ThreadPoolExecutor(max_workers=1) if while_training and jobs else None
    direct = {key: value for key, value in results.items() if not is_model(key[0])}
    pending = pool.submit(while_training, direct) if pool else None
    if jobs:
        tasks = _training_tasks(jobs)
        models_dir.mkdir(exist_ok=True)
        # Each task trains in its own process (small Keras models do not use two cores well on their own).
        out = Parallel(n_jobs=min(n_jobs, len(tasks)), return_as="generator")(
            delayed(_fit_model_task)(
                task, inputs.for_representation(task[0][0]), params_for(task[0][0]), str(models_dir), single_thread
            )
            for task in tasks
        )
        bar = tqdm(total=len(jobs), desc="training models", unit="model", disable=not progress)
        for task, task_results in zip(tasks, out):
            for key, res in zip(task, task_results):
                bar.update(1)
                if "error" in res:
                    log.warning("representation %s (seed %s) failed: %s", *key, res["error"])
                    skipped.append({"item": f"representation {key[0]} seed {key[1]}", "reason": res["error"]})
                else:
                    results[key] = res
                    if model_cache is not None:
                        model_cache.save(keys[key], res)
        bar.close()
    side = pending.result() if pending else None
    if pool:
        pool.shutdown()
    order = {name: i for i, name in enumerate(config.representations)}
    results = dict(sorted(results.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])))
    return results, skipped, side


def _score_in_parallel(score_these, reps: dict, n_jobs: int) -> tuple[pd.DataFrame, dict]:
    """``score_these(reps)`` (metrics, assignments) computed in ``n_jobs`` processes, a few (representation, seed)
    pairs each, and merged in ``reps``' order, so the result equals one process's: once the models are trained,
    clustering them is all that is left, and in one process it left the other cores idle."""
    from joblib import Parallel, delayed

    n_jobs = (os.cpu_count() or 1) if n_jobs == -1 else max(1, n_jobs)
    keys = list(reps)
    if n_jobs == 1 or len(keys) < 2:
        return score_these(reps)
    slim = {key: {f: reps[key][f] for f in ("Z", "rows", "note", "seconds")} for key in keys}
    chunks = np.array_split(np.arange(len(keys)), min(len(keys), 3 * n_jobs))  # 3 per process: balanced enough
    parts = Parallel(n_jobs=n_jobs)(
        delayed(score_these)({keys[i]: slim[keys[i]] for i in chunk}) for chunk in chunks if len(chunk)
    )
    assignments: dict = {}
    for _, part in parts:
        for key, value in part.items():
            assignments.setdefault(key, value)  # a method's first seed names its clusters, as in one process
    return pd.concat([m for m, _ in parts], ignore_index=True), assignments


# --- the run ------------------------------------------------------------------------------------------------------
def _alternative_sets(config) -> list[str]:
    """The feature sets other than the main one that ``<representation>@<set>`` entries ask for, in order."""
    out = []
    for name in config.representations:
        features = split_name(name)[1]
        if features and features != config.features and features not in out:
            out.append(features)
    return out


def _standardized(fms: dict, combo: str) -> np.ndarray:
    """``mfcc+musicnn``: each part standardized on its own, side by side ``(n, d_1 + d_2 + ...)``."""
    return np.hstack([StandardScaler().fit_transform(fms[part].X) for part in combo.split("+")])


def _features(dataset, config, progress) -> tuple:
    """``(dataset, X, logmel, feature_set, n_cached, notes, reference_space, extra)`` -- the main feature matrix
    ``X`` ``(n_tracks, d)``: standardized audio (or table) features, or for a lyrics table its lyrics features.
    ``extra``: ``alternatives`` (set -> standardized matrix, for ``<rep>@<set>``), ``unavailable`` (set -> reason)
    and ``tags`` (the musicnn tag probabilities, a `FeatureMatrix`, when musicnn ran)."""
    tracks = dataset.tracks
    alternative_sets = _alternative_sets(config)
    if dataset.features is not None or "audio_path" not in tracks.columns:
        what = "a features table" if dataset.features is not None else "a lyrics table"
        extra = {
            "alternatives": {},
            "unavailable": {a: f"{what} has no audio to compute {a} features from" for a in alternative_sets},
            "tags": None,
            "musicnn_frames": None,
        }
    if dataset.features is None and "audio_path" not in tracks.columns:
        # A lyrics table: the lyrics features are the feature matrix (already centred and L2-normalized per row,
        # so they are used as they are: standardizing would blow up the weakest SVD directions).
        texts = tracks["lyrics"].fillna("").astype(str).tolist()
        L, _ = lyrics_features(texts, dim=config.lyrics_dim, seed=config.seeds[0])
        return dataset, L, None, "lyrics", 0, [], f"lyrics features ({L.shape[1]}-D TF-IDF + SVD)", extra
    needs_logmel = dataset.features is None and any(
        "logmel" in REPRESENTATIONS[r].requires for r in config.representations
    )
    needs_frames = dataset.features is None and any(
        "musicnn_frames" in REPRESENTATIONS[r].requires for r in config.representations
    )
    main_parts = config.features.split("+")
    unavailable: dict[str, str] = {}
    if dataset.features is None:
        from .features import musicnn

        reason = musicnn.available() if needs_frames else None
        if reason:
            unavailable["musicnn_frames"] = reason
            needs_frames = False
        for combo in [config.features, *alternative_sets]:
            for part in combo.split("+"):
                if audio_features.network_of(part):
                    reason = musicnn.available(audio_features.network_of(part))
                    if reason and combo == config.features:
                        raise MusiclustError(f"--features {config.features}: {reason}")
                    if reason:
                        unavailable[combo] = reason
        for combo, reason in unavailable.items():
            _say(f"{combo} representations skipped: {reason}")
    alternatives = [a for a in alternative_sets if a not in unavailable]
    sets = list(dict.fromkeys(main_parts + [p for a in alternatives for p in a.split("+")]))
    tag_sets = [f"{s_}_tags" for s_ in sets if audio_features.NETWORK_SETS.get(s_, ("", ""))[1] == "penultimate"]
    sets += tag_sets[:1] + (["logmel_full"] if needs_logmel else [])
    sets += ["musicnn_logmel", "musicnn_frontend"] if needs_frames else []
    fms = build_features_many(
        dataset,
        sets,
        n_jobs=config.n_jobs,
        progress=progress,
        cache_dir=config.cache_dir,
        dask_scheduler=config.dask_scheduler,
    )
    if dataset.features is not None:
        X = StandardScaler().fit_transform(fms[sets[0]].X)
        fm = fms[sets[0]]
    else:
        X = _standardized(fms, config.features)
        fm = fms[main_parts[0]]
        extra = {
            "alternatives": {a: _standardized(fms, a) for a in alternatives},
            "unavailable": unavailable,
            "tags": fms[tag_sets[0]] if tag_sets else None,
            "musicnn_frames": (fms["musicnn_logmel"].X, fms["musicnn_frontend"].X) if needs_frames else None,
        }
    name = fm.feature_set if dataset.features is not None else config.features
    return (
        fm.dataset,
        X,
        fms.get("logmel_full"),
        name,
        fm.n_cached,
        fm.notes,
        f"standardized {name} features ({X.shape[1]}-D)",
        extra,
    )


def write_cluster_views(run_dir: Path, entries: list | None = None) -> list[dict]:
    """Cluster cards (``clusters/``) and their playlists (``playlists/``) for the best method of each label and for
    ``entries`` (``[[rep, clusterer(, k)], ...]``); each method's JSON records its playlists."""
    from .cards import requested, save_method, write_cards
    from .playlists import write_playlists

    results = write_cards(run_dir, requested(run_dir, entries or []))
    playlists = write_playlists(run_dir, results)
    for r in results:
        r["playlists"] = {str(c): p for c, p in playlists.get(r["slug"], {}).items()}
        save_method(run_dir, r)
    return results


def _write_info(run_dir: Path, info: dict) -> None:
    atomic.write_text(run_dir / "config.json", json.dumps(info, indent=2, ensure_ascii=False, default=str))


def _say(message: str) -> None:
    """A line for the person running the study (pairing counts, dropped columns, skipped labels): always shown,
    unlike progress bars."""
    print(message, flush=True)


def run(config: ExperimentConfig, progress: bool = True) -> Path:
    """Run the whole study; returns the run folder. Raises `MusiclustError` (one line) on bad input.

    Everything that can be checked is checked before the run folder is created, so a failed start leaves nothing.
    """
    quiet_tensorflow()
    t_start = time.perf_counter()
    for line in drop_repeats(config):
        _say(line)
    validate_config(config)
    results_root = check_output_dir(config.output_dir)
    ds_cfg = config.dataset
    dataset = load_dataset(ds_cfg.name, **ds_cfg.loader_options(), n_jobs=config.n_jobs, progress=progress)
    dataset = ensure_language(dataset)
    if "pairing" in dataset.info:
        _say(pairing_line(dataset.info["pairing"]))
    for note in dataset.info.get("feature_selection", {}).get("notes", []):
        _say(f"features table: {note}")
    for d in dataset.info.get("feature_selection", {}).get("dropped", []):
        _say(f"feature column '{d['column']}' not used: {d['reason']}")
    log.info("%s", dataset.summary())
    timing: dict = {"dataset": round(time.perf_counter() - t_start, 2)}
    t = time.perf_counter()
    dataset, X, logmel, feature_set, n_cached, feature_notes, reference_space, extra = _features(
        dataset, config, progress
    )
    targets, skipped_labels, k_info = resolve_targets(dataset, config.k, X, config.seeds[0], config.k_range)
    for s_ in skipped_labels:
        _say(f"label '{s_['label']}' not evaluated: {s_['reason']}")
    inputs, input_info = _prepare_inputs(
        dataset,
        X,
        config,
        logmel,
        main="lyrics" if feature_set == "lyrics" else "audio",
        alternatives=extra["alternatives"],
        unavailable=extra["unavailable"],
    )
    inputs.features = feature_set
    if extra["musicnn_frames"] is not None:
        inputs.musicnn_logmel, inputs.musicnn_frontend = extra["musicnn_frames"]
        input_info["musicnn_frames_shape"] = [list(a.shape) for a in extra["musicnn_frames"]]
    timing["features"] = round(time.perf_counter() - t, 2)

    run_dir = new_run_dir(results_root, config.run_name or dataset.name)
    run_id = run_dir.name
    tracks = dataset.tracks
    t = time.perf_counter()
    primary = targets[0]
    mixture_k = {"n_components": primary.k}  # VaDE's prior: one component per class of the primary label
    model_notes = {
        "gmmvae": f"mixture prior with {primary.k} components (the number of classes of "
        f"'{primary.label}', the primary label)",
        **{
            name: f"DEC refinement with {primary.k} clusters (the number of classes of '{primary.label}')"
            for name in ("idec", "dec")
        },
    }

    def score_these(these: dict):
        return score(config, dataset, these, targets, X, inputs.condition_column, model_notes, feature_set)

    # the direct representations (raw, pca, lyrics, audio_lyrics) are scored while the models train
    reps, skipped_reps, direct_scores = _representations(
        config, inputs, run_dir, progress, extra_model_params=mixture_k, while_training=score_these
    )
    timing["representations"] = round(time.perf_counter() - t, 2)
    from_cache = [f"{name}_seed{seed}" for (name, seed), r in reps.items() if r.get("cached")]
    if from_cache:
        n_models = sum(1 for name, _ in reps if is_model(name))
        _say(
            f"{len(from_cache)} of {n_models} trained models reused from the model cache ({config.cache_dir}/models: "
            f"same inputs, settings, seed and code); --retrain trains them again"
        )
    t = time.perf_counter()
    if direct_scores is None:  # nothing was trained, so nothing ran beside the training: score them all now
        direct_metrics, direct_assignments = None, {}
        pending = reps
    else:
        direct_metrics, direct_assignments = direct_scores
        pending = {key: rep for key, rep in reps.items() if is_model(key[0])}
    model_metrics, assignments = _score_in_parallel(score_these, pending, config.n_jobs) if pending else score_these({})
    order = {name: i for i, name in enumerate(config.representations)}
    metrics = pd.concat([m for m in (direct_metrics, model_metrics) if m is not None], ignore_index=True)
    metrics = metrics.iloc[np.argsort(metrics["representation"].map(order).to_numpy(), kind="stable")]
    metrics = metrics.reset_index(drop=True)
    assignments = {**direct_assignments, **assignments}
    assignments = dict(sorted(assignments.items(), key=lambda kv: order[kv[0][0]]))
    timing["clustering_and_metrics"] = round(time.perf_counter() - t, 2)
    atomic.write_csv(run_dir / METRICS_CSV, metrics)
    summary = summarize(metrics)
    atomic.write_csv(run_dir / SUMMARY_CSV, summary)
    with atomic.atomic_path(run_dir / "latents.npz") as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh,
            track_id=tracks["track_id"].to_numpy().astype(str),
            **{f"{name}_seed{seed}": r["Z"] for (name, seed), r in reps.items()},
            **{f"{name}_seed{seed}_rows": r["rows"] for (name, seed), r in reps.items() if r["rows"] is not None},
        )
    tracks_out = tracks.drop(columns=[c for c in ("lyrics",) if c in tracks.columns])
    if "audio_path" in tracks_out.columns:  # absolute: playlists and the explorer link them from the run folder
        tracks_out["audio_path"] = [str(Path(p).resolve()) if p else "" for p in tracks_out["audio_path"].fillna("")]
    if "lyrics" in tracks.columns:  # the explorer shows it on hover; the full text stays out of the results
        tracks_out["lyrics_first_line"] = [first_line(t) for t in tracks["lyrics"]]
        # the words of each track for the cluster cards: counts without stop words, not the text
        save_words(run_dir, *track_word_counts(tracks))
    atomic.write_csv(run_dir / "tracks.csv", tracks_out)
    atomic.write_csv(run_dir / "clusters.csv", assignments_table(tracks["track_id"], assignments))
    skipped_rows = pd.DataFrame(dataset.skipped + skipped_reps, columns=["item", "reason"])
    atomic.write_csv(run_dir / "skipped.csv", skipped_rows)
    if feature_notes:  # what decoding did to each clip: original rate and channels, padding of very short clips
        atomic.write_csv(
            run_dir / "feature_notes.csv",
            pd.DataFrame(feature_notes).assign(track_id=tracks["track_id"].to_numpy()),
        )
    if extra["tags"] is not None:  # what each track sounds like to musicnn: its 50 tag probabilities
        tags = extra["tags"]
        atomic.write_csv(
            run_dir / "musicnn_tags.csv",
            pd.DataFrame(tags.X, columns=tags.columns).assign(track_id=tracks["track_id"].to_numpy()),
        )
    histories = {f"{n}_seed{s}": r["history"] for (n, s), r in reps.items() if r["history"]}
    atomic.write_text(run_dir / "histories.json", json.dumps(histories))

    label_columns = [t_.label for t_ in targets]
    info = {
        "run_id": run_id,
        "config": config.to_dict(),
        "resolved": {
            "k": k_info.get("k"),
            "k_by_label": {t_.label: t_.k for t_ in targets},
            "k_choice": k_info,
            "n_tracks": len(dataset),
            "n_features": int(X.shape[1]),
            "feature_set": feature_set,
            "n_features_cached": n_cached,
            "primary_label": primary.label,
            "label_columns": label_columns,
            "labels_skipped": skipped_labels,
            "classes": {t_.label: t_.n_classes for t_ in targets},
            "class_counts": {
                t_.label: {str(a): int(b) for a, b in tracks[t_.label][t_.labelled].value_counts().items()}
                for t_ in targets
            },
            "unlabelled": {t_.label: int((~t_.labelled).sum()) for t_ in targets},
            "n_skipped": len(dataset.skipped),
            "inputs": input_info,
            "dataset_info": dataset.info,
            "representations_run": sorted({n for n, _ in reps}, key=config.representations.index),
            "representations_skipped": skipped_reps,
            "models_from_cache": from_cache,
            "mixture_prior": model_notes["gmmvae"] if any(split_name(n)[0] == "gmmvae" for n, _ in reps) else None,
            "reference_space": reference_space,
            "umap_clusterers": {"params": UMAP_PARAMS, "random_state": "the clustering seed"},
        },
        "dataset": {"name": dataset.name, "description": dataset.description},
        "versions": library_versions(),
        "timing_s": timing,
    }
    _write_info(run_dir, info)

    t = time.perf_counter()
    if config.plots:
        from .figures import write_figures

        write_figures(
            run_dir, config, dataset, inputs, reps, metrics, summary, histories, X, targets, k_info, assignments
        )
        shared = results_root / "latent_visualization"
        shared.mkdir(parents=True, exist_ok=True)
        for png in (run_dir / "figures").glob("latent_*.png"):
            shutil.copyfile(png, shared / f"{run_id}_{png.name[len('latent_') :]}")
    timing["figures"] = round(time.perf_counter() - t, 2)
    timing["total_before_report"] = round(time.perf_counter() - t_start, 2)
    info["timing_s"] = timing
    _write_info(run_dir, info)
    t = time.perf_counter()
    if not (run_dir / "embeddings_2d.npz").exists():  # --no-plots: the explorer still needs its 2-D maps
        from .figures import save_embeddings

        save_embeddings(run_dir, reps, config)
    write_cluster_views(run_dir, config.cards)
    write_explorer(run_dir)
    timing["explorer"] = round(time.perf_counter() - t, 2)
    info["timing_s"] = timing
    _write_info(run_dir, info)
    if config.report:
        from .report import write_report

        t = time.perf_counter()
        write_report(run_dir)
        info["report_seconds"] = round(time.perf_counter() - t, 2)  # kept out of timing_s, which the report prints
    # Only now is the run complete: its rows join the shared CSV and config.json says finished. An interrupted run
    # leaves a folder without finished_utc and no rows in results/clustering_metrics.csv.
    append_csv_locked(results_root / "clustering_metrics.csv", metrics.assign(run_id=run_id))
    info["finished_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    _write_info(run_dir, info)
    return run_dir


def rebuild_outputs(run_dir: str | Path, cards: list | None = None) -> dict[str, Path]:
    """``--report-only``: the cluster cards and playlists (the best methods, those asked for before and ``cards``),
    the explorer and the report of a finished run, from its files alone."""
    from .report import write_report

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MusiclustError(f"--report-only {run_dir}: no such run folder")
    for name in ("config.json", "summary.csv", "clusters.csv", "tracks.csv"):
        if not (run_dir / name).exists():
            raise MusiclustError(f"{run_dir} is not a finished run folder (no {name})")
    try:
        info = json.loads((run_dir / "config.json").read_text())
        info["resolved"]["label_columns"], info["config"]["seeds"], info["dataset"]["name"]  # noqa: B018
    except (ValueError, KeyError, TypeError) as exc:
        raise MusiclustError(
            f"{run_dir}/config.json is damaged ({type(exc).__name__}: {str(exc).splitlines()[0][:80]}): the report "
            f"cannot be rebuilt from it; run the study again"
        ) from None
    try:
        summary = pd.read_csv(run_dir / "summary.csv")
    except (ValueError, OSError) as exc:
        raise MusiclustError(f"{run_dir}/summary.csv cannot be read ({str(exc).splitlines()[0][:80]})") from None
    if summary.empty or "nmi_mean" not in summary.columns or summary["nmi_mean"].notna().sum() == 0:
        raise MusiclustError(
            f"{run_dir} has no clustering result (summary.csv has no scored row): there is nothing to report"
        )
    write_cluster_views(run_dir, cards)
    paths = {"cards": run_dir / "clusters"}
    if (run_dir / "embeddings_2d.npz").exists():
        paths["explorer"] = write_explorer(run_dir)
    return {**paths, **write_report(run_dir)}


def format_summary(run_dir: Path, max_rows: int = 60) -> str:
    """A short text table: mean ± std over seeds of NMI, ARI and ACC against every label (each at its own k)."""
    from .evaluation import wide_summary

    info = json.loads((Path(run_dir) / "config.json").read_text())
    labels = info["resolved"]["label_columns"]
    summary = wide_summary(pd.read_csv(Path(run_dir) / SUMMARY_CSV), labels)
    k_by = info["resolved"].get("k_by_label", {})
    header = ["representation", "clusterer"] + [
        f"{m.upper()}({lab}, k={k_by.get(lab, '?')})" for lab in labels for m in ("nmi", "ari", "acc")
    ]
    lines = []
    for r in summary.head(max_rows).to_dict("records"):
        vals = []
        for lab in labels:
            for m in ("nmi", "ari", "acc"):
                mean, std = r.get(f"{m}_{lab}_mean"), r.get(f"{m}_{lab}_std")
                vals.append("nan" if mean is None or pd.isna(mean) else f"{mean:.3f}±{std:.3f}")
        lines.append([r["representation"], r["clusterer"], *vals])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header)] + [fmt.format(*ln) for ln in lines])
