"""The experiment: dataset -> features -> representations -> clustering -> metrics -> ``results/<run-id>/``.

This is the only module that knows every stage; each stage knows nothing of the ones after it.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import time
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

from . import __version__
from .clustering import CLUSTERERS, choose_k, cluster
from .config import ExperimentConfig
from .datasets import LOADERS, load_dataset
from .errors import MusiclustError
from .features import audio as audio_features
from .features import build_features_many
from .features.text import ensure_language, has_text, lyrics_features
from .metrics import EXTERNAL, INTERNAL, external_metrics, internal_metrics
from .representations import MODEL_REPRESENTATIONS, REPRESENTATIONS, Inputs, missing_requirements

log = logging.getLogger(__name__)

LIBRARIES = ("numpy", "pandas", "scipy", "scikit-learn", "librosa", "soundfile", "soxr", "umap-learn", "matplotlib",
             "music21", "pretty_midi", "midirenderer", "joblib", "tensorflow", "keras", "lingua-language-detector")
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


def validate_config(config: ExperimentConfig) -> None:
    """Fail fast, with one line, on names that no registry knows and on impossible values."""
    if config.dataset.name not in LOADERS:
        raise MusiclustError(f"unknown dataset '{config.dataset.name}'; choose one of: {', '.join(sorted(LOADERS))}")
    for kind, names, registry in (("representation", config.representations, REPRESENTATIONS),
                                  ("clusterer", config.clusterers, CLUSTERERS)):
        if not names:
            raise MusiclustError(f"no {kind} selected")
        bad = [n for n in names if n not in registry]
        if bad:
            raise MusiclustError(f"unknown {kind}(s) {bad}; choose from {sorted(registry)}")
    vector_sets = sorted(set(audio_features.FEATURE_SETS) - audio_features.PATCH_SETS)
    if config.features not in vector_sets:
        raise MusiclustError(f"unknown feature set '{config.features}' for --features; choose from {vector_sets}")
    if not config.seeds:
        raise MusiclustError("no seeds given: pass at least one, e.g. --seeds 0 1 2")
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


def _append_csv(path: Path, df: pd.DataFrame) -> None:
    """Append rows to a CSV shared by all runs, rewriting it atomically (columns may differ between runs)."""
    if path.exists():
        try:
            df = pd.concat([pd.read_csv(path), df], ignore_index=True)
        except Exception:  # an unreadable shared file is kept aside, never silently dropped
            path.rename(path.with_suffix(f".unreadable-{int(time.time())}.csv"))
    tmp = path.with_suffix(".csv.part")
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)


def summarize(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds of every numeric metric, per representation x clusterer."""
    skip = {"representation", "clusterer", "seed", "note", "run_id", "k", "latent_dim"}
    value_cols = [c for c in metrics.columns if c not in skip and pd.api.types.is_numeric_dtype(metrics[c])]
    grouped = metrics.groupby(["representation", "clusterer"], sort=False)[value_cols]
    mean = grouped.mean().add_suffix("_mean")
    std = grouped.std(ddof=0).add_suffix("_std")
    out = pd.concat([mean, std], axis=1)
    ordered = [c for v in value_cols for c in (f"{v}_mean", f"{v}_std")]
    out = out[ordered].reset_index()
    out.insert(2, "n_seeds", grouped.size().to_numpy())
    return out


# --- inputs -------------------------------------------------------------------------------------------------------
def _prepare_inputs(dataset, X: np.ndarray, config: ExperimentConfig, logmel) -> tuple[Inputs, dict]:
    """Lyrics features, log-mel patches and the condition, each only when the data has them and a chosen
    representation needs them. Returns the inputs and what was done (for config.json)."""
    tracks = dataset.tracks
    info: dict = {}
    inputs = Inputs(audio=X, modality_weights=dict(config.modality_weights))
    needs = {r for name in config.representations for r in REPRESENTATIONS[name].requires}
    if "lyrics" in needs and "lyrics" in tracks.columns:
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
    return inputs, info


def _fit_model_representation(name: str, seed: int, inputs: Inputs, params: dict, models_dir: str,
                              single_thread: bool = False) -> dict:
    """Train one model representation (runs in a worker process); the model is saved, Z and history returned."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if single_thread:
        # One model per process: TensorFlow's own thread pools would only oversubscribe the cores.
        import tensorflow as tf

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
    return {"Z": rep.Z, "rows": rep.rows, "note": rep.note, "history": rep.model.history_, "model_path": str(path),
            "seconds": time.perf_counter() - t0}


def _representations(config, inputs, run_dir, progress) -> tuple[dict, list[dict]]:
    """Every applicable (representation, seed): ``{(name, seed): result}``, and the skipped entries with reasons."""
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    results, skipped = {}, []
    params = {"latent_dim": config.latent_dim, "model": config.model_params()}
    n_train = len(inputs.audio) - int(round(len(inputs.audio) * 0.1))
    if params["model"]["batch_size"] > n_train:  # small collections: one batch holds the whole training split
        params["model"]["batch_size"] = max(1, n_train)
    models_dir = run_dir / "models"
    jobs = []
    for name in config.representations:
        reason = missing_requirements(name, inputs)
        if reason:
            log.warning("skipping representation %s: %s", name, reason)
            skipped.append({"item": f"representation {name}", "reason": reason})
            continue
        spec = REPRESENTATIONS[name]
        for seed in (config.seeds if spec.seeded else config.seeds[:1]):
            if name in MODEL_REPRESENTATIONS:
                jobs.append((name, seed))
            else:
                t0 = time.perf_counter()
                rep = spec.build(inputs, params, seed)
                results[(name, seed)] = {"Z": rep.Z, "rows": rep.rows, "note": rep.note, "history": None,
                                         "model_path": None, "seconds": time.perf_counter() - t0}
    if jobs:
        # Longest first (convolutional, multimodal, mixture prior), so two workers finish close together.
        cost = {"convvae": 0, "multimodal": 1, "gmmvae": 2, "ae": 3, "cvae": 4}
        jobs.sort(key=lambda j: (cost.get(j[0], 9), j[1]))
        models_dir.mkdir(exist_ok=True)
        n_jobs = min(len(jobs), os.cpu_count() or 1) if config.n_jobs == -1 else max(1, min(config.n_jobs, len(jobs)))
        # Each model trains in its own process (small Keras models do not use two cores well on their own).
        out = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_fit_model_representation)(name, seed, inputs, params, str(models_dir), n_jobs > 1)
            for name, seed in jobs)
        for key, res in zip(jobs, tqdm(out, total=len(jobs), desc="training models", unit="model",
                                       disable=not progress)):
            if "error" in res:
                log.warning("representation %s (seed %s) failed: %s", *key, res["error"])
                skipped.append({"item": f"representation {key[0]} seed {key[1]}", "reason": res["error"]})
            else:
                results[key] = res
    order = {name: i for i, name in enumerate(config.representations)}
    results = dict(sorted(results.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])))
    return results, skipped


# --- clustering and metrics ---------------------------------------------------------------------------------------
def _score(config, dataset, inputs, reps, k, ref_space) -> pd.DataFrame:
    tracks = dataset.tracks
    rows = []
    for (name, seed), rep in reps.items():
        Z = rep["Z"]
        idx = rep["rows"] if rep["rows"] is not None else np.arange(len(tracks))
        for clu_name in config.clusterers:
            # Seed-independent representations are still clustered with every seed (K-Means varies with it).
            clu_seeds = config.seeds if not REPRESENTATIONS[name].seeded else [seed]
            for clu_seed in clu_seeds:
                res = cluster(clu_name, Z, k, clu_seed)
                labels = res.labels
                row = {"representation": name, "clusterer": clu_name, "seed": clu_seed, "k": k,
                       "n_tracks": len(idx), "n_clusters_found": res.n_clusters,
                       "noise_fraction": res.noise_fraction, "latent_dim": int(Z.shape[1]),
                       "fit_seconds": rep["seconds"]}
                notes = [n for n in [rep["note"], *res.notes] if n]
                if res.params:
                    notes.append(", ".join(f"{a}={b:.4g}" for a, b in res.params.items()))
                own = internal_metrics(Z, labels, random_state=clu_seed)
                ref = internal_metrics(ref_space[idx], labels, random_state=clu_seed)
                if "note" in own:
                    notes.append(f"internal: {own.pop('note')}")
                    ref.pop("note", None)
                row.update(own)
                row.update({f"{m}_ref": v for m, v in ref.items() if m != "note"})
                degenerate = res.n_clusters < 2
                for col in dataset.label_columns:
                    if degenerate:
                        ext = {m: float("nan") for m in EXTERNAL}
                    else:
                        ext = external_metrics(tracks[col].to_numpy()[idx], labels)
                        if "note" in ext:
                            notes.append(f"{col}: {ext.pop('note')}")
                    row.update({f"{m}_{col}": v for m, v in ext.items()})
                    if name == "cvae" and col == inputs.condition_column:
                        notes.append(f"conditioned on '{col}': its {col} scores are not a fair test")
                if degenerate:
                    what = "all points are noise" if res.n_clusters == 0 else "only one cluster found"
                    notes.append(f"external metrics undefined: {what}")
                row["note"] = "; ".join(dict.fromkeys(notes))
                rows.append(row)
    metrics = pd.DataFrame(rows)
    ordered = ["representation", "clusterer", "seed", "k", "n_tracks", "n_clusters_found", "noise_fraction",
               "latent_dim", "fit_seconds", *INTERNAL, *[f"{m}_ref" for m in INTERNAL],
               *[f"{m}_{c}" for c in dataset.label_columns for m in EXTERNAL], "note"]
    return metrics[[c for c in ordered if c in metrics.columns]]


def _resolve_k(config, dataset, X) -> tuple[int, dict]:
    n = len(dataset)
    if config.k == "auto":
        lo, hi = config.k_range
        k, scores = choose_k(X, range(max(2, lo), min(hi, n - 1) + 1), seed=config.seeds[0])
        return k, {"k": k, "chosen_by": "best K-Means silhouette on the standardized features (no labels)",
                   "silhouette_by_k": scores}
    k = config.k if config.k is not None else dataset.n_classes()
    if k > n:
        raise MusiclustError(f"k={k} is larger than the number of tracks ({n}): pass a smaller --k")
    how = "given" if config.k is not None else f"number of classes of '{dataset.primary_label}'"
    return k, {"k": k, "chosen_by": how}


def run(config: ExperimentConfig, progress: bool = True) -> Path:
    """Run the whole study; returns the run folder. Raises `MusiclustError` (one line) on bad input."""
    t_start = time.perf_counter()
    validate_config(config)
    ds_cfg = config.dataset
    dataset = load_dataset(ds_cfg.name, path=ds_cfg.path, label_columns=ds_cfg.label_columns,
                           id_column=ds_cfg.id_column, n_per_class=ds_cfg.n_per_class, styles=ds_cfg.styles,
                           lyrics_table=ds_cfg.lyrics_table, n_jobs=config.n_jobs, progress=progress)
    if dataset.n_classes() < 2:
        raise MusiclustError(
            f"label column '{dataset.primary_label}' has a single class: clustering cannot be evaluated against it; "
            f"choose another --label-column or a dataset with at least two classes"
        )
    dataset = ensure_language(dataset)
    log.info("%s", dataset.summary())
    timing: dict = {"dataset": round(time.perf_counter() - t_start, 2)}
    t = time.perf_counter()
    # The ConvVAE's log-mel patches come from the same decode and STFT as the audio features (one pass).
    needs_logmel = (dataset.features is None and "audio_path" in dataset.tracks.columns
                    and any("logmel" in REPRESENTATIONS[r].requires for r in config.representations))
    sets = [config.features] + (["logmel"] if needs_logmel else [])
    fms = build_features_many(dataset, sets, n_jobs=config.n_jobs, progress=progress, cache_dir=config.cache_dir,
                              dask_scheduler=config.dask_scheduler)
    fm = fms[config.features]
    dataset = fm.dataset
    X = StandardScaler().fit_transform(fm.X)
    k, k_info = _resolve_k(config, dataset, X)
    inputs, input_info = _prepare_inputs(dataset, X, config, fms.get("logmel"))
    timing["features"] = round(time.perf_counter() - t, 2)

    results_root = Path(config.output_dir)
    run_dir = new_run_dir(results_root, config.run_name or dataset.name)
    run_id = run_dir.name
    tracks = dataset.tracks
    t = time.perf_counter()
    reps, skipped_reps = _representations(config, inputs, run_dir, progress)
    timing["representations"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    metrics = _score(config, dataset, inputs, reps, k, X)
    timing["clustering_and_metrics"] = round(time.perf_counter() - t, 2)
    metrics.to_csv(run_dir / METRICS_CSV, index=False)
    summary = summarize(metrics)
    summary.to_csv(run_dir / SUMMARY_CSV, index=False)
    np.savez_compressed(run_dir / "latents.npz", track_id=tracks["track_id"].to_numpy().astype(str),
                        **{f"{name}_seed{seed}": r["Z"] for (name, seed), r in reps.items()},
                        **{f"{name}_seed{seed}_rows": r["rows"] for (name, seed), r in reps.items()
                           if r["rows"] is not None})
    tracks.drop(columns=[c for c in ("lyrics",) if c in tracks.columns]).to_csv(run_dir / "tracks.csv", index=False)
    pd.DataFrame(dataset.skipped + skipped_reps, columns=["item", "reason"]).to_csv(run_dir / "skipped.csv",
                                                                                     index=False)
    if fm.notes:  # what decoding did to each clip: original rate and channels, padding of very short clips
        pd.DataFrame(fm.notes).assign(track_id=tracks["track_id"].to_numpy()).to_csv(
            run_dir / "feature_notes.csv", index=False)
    histories = {f"{n}_seed{s}": r["history"] for (n, s), r in reps.items() if r["history"]}
    (run_dir / "histories.json").write_text(json.dumps(histories))

    info = {
        "run_id": run_id,
        "config": config.to_dict(),
        "resolved": {"k": k, "k_choice": k_info, "n_tracks": len(dataset), "n_features": int(X.shape[1]),
                     "feature_set": fm.feature_set, "n_features_cached": fm.n_cached,
                     "primary_label": dataset.primary_label, "label_columns": dataset.label_columns,
                     "classes": {c: int(dataset.n_classes(c)) for c in dataset.label_columns},
                     "class_counts": {c: {str(a): int(b) for a, b in tracks[c].value_counts().items()}
                                      for c in dataset.label_columns},
                     "n_skipped": len(dataset.skipped), "inputs": input_info, "dataset_info": dataset.info,
                     "representations_run": sorted({n for n, _ in reps}, key=config.representations.index),
                     "representations_skipped": skipped_reps,
                     "reference_space": f"standardized {fm.feature_set} features ({X.shape[1]}-D)"},
        "dataset": {"name": dataset.name, "description": dataset.description},
        "versions": library_versions(),
        "timing_s": timing,
    }
    (run_dir / "config.json").write_text(json.dumps(info, indent=2, ensure_ascii=False, default=str))

    t = time.perf_counter()
    if config.plots:
        from .figures import write_figures

        write_figures(run_dir, config, dataset, inputs, reps, metrics, summary, histories, X)
        shared = results_root / "latent_visualization"
        shared.mkdir(parents=True, exist_ok=True)
        for png in (run_dir / "figures").glob("latent_*.png"):
            shutil.copyfile(png, shared / f"{run_id}_{png.name[len('latent_'):]}")
    timing["figures"] = round(time.perf_counter() - t, 2)
    _append_csv(results_root / "clustering_metrics.csv", metrics.assign(run_id=run_id))
    timing["total_before_report"] = round(time.perf_counter() - t_start, 2)
    info["timing_s"] = timing
    info["finished_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    (run_dir / "config.json").write_text(json.dumps(info, indent=2, ensure_ascii=False, default=str))
    if config.report:
        from .report import write_report

        write_report(run_dir)
    return run_dir


def format_summary(run_dir: Path, max_rows: int = 60) -> str:
    """A short text table: mean ± std over seeds of NMI, ARI and ACC for every label column."""
    info = json.loads((Path(run_dir) / "config.json").read_text())
    summary = pd.read_csv(Path(run_dir) / SUMMARY_CSV)
    labels = info["resolved"]["label_columns"]
    header = ["representation", "clusterer"] + [f"{m.upper()}({lab})" for lab in labels for m in ("nmi", "ari", "acc")]
    lines = []
    for r in summary.head(max_rows).itertuples(index=False):
        d = r._asdict()
        vals = []
        for lab in labels:
            for m in ("nmi", "ari", "acc"):
                mean, std = d[f"{m}_{lab}_mean"], d[f"{m}_{lab}_std"]
                vals.append("nan" if pd.isna(mean) else f"{mean:.3f}±{std:.3f}")
        lines.append([d["representation"], d["clusterer"], *vals])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header)] + [fmt.format(*ln) for ln in lines])
