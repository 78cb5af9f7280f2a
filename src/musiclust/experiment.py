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
from .clustering import CLUSTERERS, cluster
from .config import ExperimentConfig
from .datasets import LOADERS, load_dataset
from .errors import MusiclustError
from .features import audio as audio_features
from .features import build_features
from .features.text import ensure_language
from .metrics import EXTERNAL, INTERNAL, external_metrics, internal_metrics
from .representations import REPRESENTATIONS, SEED_INDEPENDENT, make_representation

log = logging.getLogger(__name__)

LIBRARIES = ("numpy", "pandas", "scipy", "scikit-learn", "librosa", "soundfile", "soxr", "umap-learn", "matplotlib",
             "music21", "pretty_midi", "midirenderer", "joblib", "tensorflow", "keras")
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
    """Fail fast, with one line, on names that no registry knows."""
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
    if config.k is not None and config.k < 2:
        raise MusiclustError(f"k must be at least 2 (got {config.k})")
    if config.latent_dim < 1:
        raise MusiclustError(f"latent_dim must be at least 1 (got {config.latent_dim})")


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


def _resolve_k(config: ExperimentConfig, labels: pd.Series, n_tracks: int) -> int:
    n_classes = int(labels.nunique())
    k = config.k if config.k is not None else n_classes
    if k > n_tracks:
        raise MusiclustError(f"k={k} is larger than the number of tracks ({n_tracks}): pass a smaller --k")
    return k


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
    value_cols = [c for c in metrics.columns
                  if c not in ("representation", "clusterer", "seed", "note", "run_id")
                  and pd.api.types.is_numeric_dtype(metrics[c])]
    grouped = metrics.groupby(["representation", "clusterer"], sort=False)[value_cols]
    mean = grouped.mean().add_suffix("_mean")
    std = grouped.std(ddof=0).add_suffix("_std")
    out = pd.concat([mean, std], axis=1)
    ordered = [c for v in value_cols for c in (f"{v}_mean", f"{v}_std")]
    out = out[ordered].reset_index()
    out.insert(2, "n_seeds", grouped.size().to_numpy())
    return out


def _plot_latents(run_dir: Path, results_root: Path, run_id: str, latents: dict, cluster_labels: dict,
                  tracks: pd.DataFrame, label_columns: list[str], config: ExperimentConfig) -> list[Path]:
    from .plots import embed_2d, embedding_figure
    import matplotlib.pyplot as plt

    fig_dir = run_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    shared = results_root / "latent_visualization"
    shared.mkdir(parents=True, exist_ok=True)
    seed = config.seeds[0]
    written = []
    for rep, Z in latents.items():
        idx = np.arange(len(Z))
        if len(Z) > config.plot_max_points:  # t-SNE is O(n^2) in memory: plot a seeded subsample
            idx = np.sort(np.random.default_rng(seed).choice(len(Z), config.plot_max_points, replace=False))
        colourings = {f"cluster ({config.clusterers[0]})": cluster_labels[rep][idx]}
        for col in label_columns:
            colourings[col] = tracks[col].to_numpy()[idx]
        for method in ("tsne", "umap"):
            E = embed_2d(Z[idx], method, seed)
            sub = f", {len(idx)} of {len(Z)} tracks" if len(idx) < len(Z) else ""
            fig = embedding_figure(E, colourings, f"{rep} latent, {method.upper()} (seed {seed}{sub})")
            path = fig_dir / f"{rep}_{method}.png"
            fig.savefig(path, dpi=110)
            plt.close(fig)
            shutil.copyfile(path, shared / f"{run_id}_{rep}_{method}.png")
            written.append(path)
    return written


def run(config: ExperimentConfig, progress: bool = True) -> Path:
    """Run the whole study; returns the run folder. Raises `MusiclustError` (one line) on bad input."""
    t_start = time.perf_counter()
    validate_config(config)
    ds_cfg = config.dataset
    dataset = load_dataset(ds_cfg.name, path=ds_cfg.path, label_columns=ds_cfg.label_columns,
                           id_column=ds_cfg.id_column, n_per_class=ds_cfg.n_per_class, styles=ds_cfg.styles,
                           n_jobs=config.n_jobs, progress=progress)
    if dataset.n_classes() < 2:
        raise MusiclustError(
            f"label column '{dataset.primary_label}' has a single class: clustering cannot be evaluated against it; "
            f"choose another --label-column or a dataset with at least two classes"
        )
    dataset = ensure_language(dataset)
    log.info("%s", dataset.summary())
    t_features = time.perf_counter()
    fm = build_features(dataset, config.features, n_jobs=config.n_jobs, progress=progress,
                        cache_dir=config.cache_dir, dask_scheduler=config.dask_scheduler)
    dataset = fm.dataset
    t_features = time.perf_counter() - t_features
    k = _resolve_k(config, dataset.tracks[dataset.primary_label], len(dataset))
    X = StandardScaler().fit_transform(fm.X)

    results_root = Path(config.output_dir)
    run_dir = new_run_dir(results_root, config.run_name or dataset.name)
    run_id = run_dir.name
    tracks = dataset.tracks

    rows, latents, first_labels, timings = [], {}, {}, {}
    for rep_name in config.representations:
        seeds = config.seeds[:1] if rep_name in SEED_INDEPENDENT else config.seeds
        for seed in seeds:
            t0 = time.perf_counter()
            Z = make_representation(rep_name, config.latent_dim, seed).fit_transform(X)
            timings[f"{rep_name}/seed{seed}"] = time.perf_counter() - t0
            if seed == config.seeds[0]:
                latents[rep_name] = Z
            for clu_name in config.clusterers:
                # Seed-independent representations are still clustered with every seed (K-Means varies with it).
                for clu_seed in (config.seeds if rep_name in SEED_INDEPENDENT else [seed]):
                    labels = cluster(clu_name, Z, k, clu_seed)
                    if clu_name == config.clusterers[0] and clu_seed == config.seeds[0]:
                        first_labels[rep_name] = labels
                    row = {"representation": rep_name, "clusterer": clu_name, "seed": clu_seed,
                           "k": k, "n_clusters_found": int(len(np.unique(labels[labels >= 0]))),
                           "latent_dim": int(Z.shape[1])}
                    notes = []
                    internal = internal_metrics(Z, labels, random_state=clu_seed)
                    if "note" in internal:
                        notes.append(f"internal: {internal.pop('note')}")
                    row.update(internal)
                    for col in dataset.label_columns:
                        ext = external_metrics(tracks[col].to_numpy(), labels)
                        if "note" in ext:
                            notes.append(f"{col}: {ext.pop('note')}")
                        row.update({f"{m}_{col}": v for m, v in ext.items()})
                    row["note"] = "; ".join(notes)
                    rows.append(row)

    metrics = pd.DataFrame(rows)
    metrics.to_csv(run_dir / METRICS_CSV, index=False)
    summary = summarize(metrics)
    summary.to_csv(run_dir / SUMMARY_CSV, index=False)
    np.savez_compressed(run_dir / "latents.npz", track_id=tracks["track_id"].to_numpy().astype(str),
                        **{f"latent_{r}": z for r, z in latents.items()})
    tracks.drop(columns=[c for c in ("lyrics",) if c in tracks.columns]).to_csv(run_dir / "tracks.csv", index=False)
    pd.DataFrame(dataset.skipped, columns=["item", "reason"]).to_csv(run_dir / "skipped.csv", index=False)

    t_plots = time.perf_counter()
    if config.plots:
        _plot_latents(run_dir, results_root, run_id, latents, first_labels, tracks, dataset.label_columns, config)
    t_plots = time.perf_counter() - t_plots

    _append_csv(results_root / "clustering_metrics.csv", metrics.assign(run_id=run_id))
    info = {
        "run_id": run_id,
        "config": config.to_dict(),
        "resolved": {"k": k, "n_tracks": len(dataset), "n_features": int(X.shape[1]), "feature_set": fm.feature_set,
                     "n_features_cached": fm.n_cached,
                     "primary_label": dataset.primary_label, "label_columns": dataset.label_columns,
                     "classes": {c: int(dataset.n_classes(c)) for c in dataset.label_columns},
                     "n_skipped": len(dataset.skipped)},
        "dataset_description": dataset.description,
        "versions": library_versions(),
        "timing_s": {"features": round(t_features, 2), "plots": round(t_plots, 2),
                     "representations": {k_: round(v, 3) for k_, v in timings.items()},
                     "total": round(time.perf_counter() - t_start, 2)},
        "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    (run_dir / "config.json").write_text(json.dumps(info, indent=2, ensure_ascii=False))
    return run_dir


def format_summary(run_dir: Path) -> str:
    """A short text table: mean +- std over seeds of the key metrics for the primary label and the others."""
    info = json.loads((Path(run_dir) / "config.json").read_text())
    summary = pd.read_csv(Path(run_dir) / SUMMARY_CSV)
    labels = info["resolved"]["label_columns"]
    header = ["representation", "clusterer"] + [f"{m.upper()}({lab})" for lab in labels for m in ("nmi", "ari", "acc")]
    lines = []
    for r in summary.itertuples(index=False):
        d = r._asdict()
        vals = [f"{d[f'{m}_{lab}_mean']:.3f}±{d[f'{m}_{lab}_std']:.3f}" for lab in labels for m in ("nmi", "ari", "acc")]
        lines.append([d["representation"], d["clusterer"], *vals])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header)] + [fmt.format(*ln) for ln in lines])
