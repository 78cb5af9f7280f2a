"""Every figure of a finished run, written to ``<run>/figures/`` (the plotting itself lives in `plots`)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from .cards import track_name
from .clustering import cluster
from .filenames import comparison_figure
from .plots import (
    cluster_distribution_figure,
    embed_2d,
    embedding_figure,
    feature_reconstruction_figure,
    k_selection_figure,
    logmel_reconstruction_figure,
    nmi_heatmap_figure,
    plt,
    training_curves_figure,
    traversal_figure,
)
from .representations import split_name

log = logging.getLogger(__name__)


# User text in figures (label and class names, track titles) as written: with matplotlib's mathtext on, a class called
# '$uicideboy$' was typeset as a formula, and a pair of '$' around what mathtext cannot parse would stop the figure.
# Text objects read the setting when made (tick labels when drawn), so `plt.rc_context(AS_WRITTEN)` spans making and
# saving (as a `with` block, or as a decorator of a function that does both).
AS_WRITTEN = {"text.parse_math": False}


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _examples(labels: np.ndarray, m: int = 4) -> np.ndarray:
    """Up to ``m`` track indices, one from each of the first classes (deterministic)."""
    out = []
    for cls in sorted(np.unique(labels))[:m]:
        out.append(int(np.flatnonzero(labels == cls)[0]))
    return np.array(out)


def write_figures(
    run_dir: Path,
    config,
    dataset,
    inputs,
    reps: dict,
    metrics,
    summary,
    histories: dict,
    X: np.ndarray,
    targets,
    k_info: dict,
    assignments: dict,
) -> list[Path]:
    """Every figure; ``targets`` are the evaluated labels (`evaluation.Target`), the first one the primary;
    ``assignments`` the clusters of each representation x clusterer (`evaluation.score`).

    The 2-D UMAP of every representation is saved to ``embeddings_2d.npz`` (``<rep>_xy``, ``<rep>_rows``: the track
    indices plotted) for the explorer and the notebook."""
    from .evaluation import wide_summary

    fig_dir = run_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    tracks = dataset.tracks
    written = []
    first_seed = {}
    for name, seed in reps:
        first_seed.setdefault(name, seed)
    clu = config.clusterers[0]
    k = targets[0].k  # the maps are coloured by a clustering at the primary label's k
    labels_shown = [t.label for t in targets]
    plan = []  # (name, seed, rows covered, plotted subset, cluster labels)
    for name, seed in first_seed.items():
        Z = reps[(name, seed)]["Z"]
        idx = reps[(name, seed)]["rows"]
        idx = idx if idx is not None else np.arange(len(tracks))
        labels = assignments[(name, clu)][1] if (name, clu) in assignments else cluster(clu, Z, k, seed).labels
        plot_idx = np.arange(len(Z))
        if len(Z) > config.plot_max_points:  # t-SNE is O(n^2) in memory: plot a seeded subsample, and say so
            plot_idx = np.sort(np.random.default_rng(seed).choice(len(Z), config.plot_max_points, replace=False))
        plan.append((name, seed, idx, plot_idx, labels))
    first_histories = {n: histories[f"{n}_seed{s}"] for n, s in first_seed.items() if f"{n}_seed{s}" in histories}
    if first_histories:
        written.append(
            _save(
                training_curves_figure(first_histories, "training curves (first seed)"), fig_dir / "training_curves.png"
            )
        )
    primary = tracks[dataset.primary_label].to_numpy()
    examples = _examples(primary)
    names = [f"{track_name(tracks.iloc[i].to_dict())} ({primary[i]})" for i in examples]
    model_jobs = [
        job
        for name, seed in first_seed.items()
        if (job := _model_figure_job(name, reps[(name, seed)], inputs, examples, names, fig_dir)) is not None
    ]
    # Each representation's maps and distribution, and each trained model's reconstructions (and a Beta-VAE's
    # traversals), are drawn in worker processes: t-SNE, UMAP and three PNGs take about 1.5 s a representation, loading
    # a model and drawing its reconstructions about 0.7 s, and one after another in the main process they were the
    # run's longest single-core stretch. The results do not depend on the process (both embeddings are seeded;
    # umap-learn's compiled kernels are cached on disk).
    jobs = [
        delayed(_representation_figures)(
            reps[(name, seed)]["Z"][plot_idx],
            name,
            seed,
            {
                f"cluster ({clu}, k={k})": labels[plot_idx],
                **{col: tracks[col].to_numpy()[idx][plot_idx] for col in labels_shown},
            },
            labels,
            {c: tracks[c].to_numpy()[idx] for c in labels_shown},
            f"{name} + {clu} (seed {seed}): cluster distribution",
            len(reps[(name, seed)]["Z"]),
            fig_dir,
        )
        for name, seed, idx, plot_idx, labels in plan
    ]
    done = Parallel(n_jobs=config.n_jobs)(jobs + [delayed(_model_figures)(**job) for job in model_jobs])
    drawn, model_drawn = done[: len(plan)], done[len(plan) :]
    np.savez_compressed(
        run_dir / "embeddings_2d.npz",
        **{
            key: value
            for (name, _, idx, plot_idx, _), (umap_xy, _) in zip(plan, drawn)
            for key, value in ((f"{name}_xy", umap_xy), (f"{name}_rows", idx[plot_idx]))
        },
    )
    written.extend(path for _, paths in drawn for path in paths)
    for job, (paths, problem) in zip(model_jobs, model_drawn):
        written.extend(paths)
        if problem:  # a figure must never cost the run its results
            log.warning("figure for %s skipped: %s", job["name"], problem)

    wide = wide_summary(summary, labels_shown)
    for col in labels_shown:
        if f"nmi_{col}_mean" in wide.columns:
            with plt.rc_context(AS_WRITTEN):
                written.append(_save(nmi_heatmap_figure(wide, col), fig_dir / comparison_figure(col)))
    if "criteria_by_k" in k_info:
        fig = k_selection_figure(k_info, "label-free criteria for --k auto")
        written.append(_save(fig, fig_dir / "k_selection.png"))
    return written


@plt.rc_context(AS_WRITTEN)
def _representation_figures(
    Z: np.ndarray,
    name: str,
    seed: int,
    colourings: dict,
    labels: np.ndarray,
    label_columns: dict,
    distribution_title: str,
    n_all: int,
    fig_dir: Path,
) -> tuple[np.ndarray, list[Path]]:
    """One representation's t-SNE and UMAP maps of ``Z`` ``(n_plotted, d)`` coloured by each of ``colourings`` and
    its cluster distribution (``labels`` against ``label_columns``); returns ``(umap_xy (n_plotted, 2), paths)``.
    ``n_all``: the tracks the representation covers (the title says when fewer were plotted)."""
    sub = f", {len(Z)} of {n_all} tracks" if len(Z) < n_all else ""
    paths, umap_xy = [], None
    for method in ("tsne", "umap"):
        xy = embed_2d(Z, method, seed)
        umap_xy = xy if method == "umap" else umap_xy
        fig = embedding_figure(xy, colourings, f"{name} latent, {method.upper()} (seed {seed}{sub})")
        paths.append(_save(fig, fig_dir / f"latent_{name}_{method}.png"))
    fig = cluster_distribution_figure(labels, label_columns, distribution_title)
    paths.append(_save(fig, fig_dir / f"distribution_{name}.png"))
    return umap_xy, paths


def _model_figure_job(name: str, rep: dict, inputs, examples: np.ndarray, names: list[str], fig_dir: Path):
    """What a worker needs to draw one trained model's reconstructions of the ``examples`` (`_model_figures`'s
    keyword arguments), or None when there is nothing to draw: no saved model, or DEC, which refines the encoder
    without its decoder (the two no longer match)."""
    from .models import MODELS

    base = split_name(name)[0]
    spec = MODELS.get(base)
    if not rep["model_path"] or (spec and spec.dec_refine and not spec.dec_keeps_reconstruction):
        return None
    job = {"path": rep["model_path"], "name": name, "names": names, "fig_dir": fig_dir, "kw": {}}
    if spec and spec.conv:  # whole clips: the worker cuts the crop the model sees
        job["originals"] = np.asarray((inputs.musicnn_logmel if spec.frontend else inputs.logmel)[examples])
        if spec.frontend:
            job["kw"]["frontend"] = np.asarray(inputs.musicnn_frontend[examples])
        return job
    job["originals"] = inputs.for_representation(name).audio[examples]  # the features this model was trained on
    if base == "cvae":
        job["kw"]["condition"] = inputs.condition[examples]
    if base == "multimodal":
        job["kw"].update(lyrics=inputs.lyrics[examples], lyrics_mask=inputs.lyrics_mask[examples])
    if base == "beta_vae":
        job["traverse"] = (rep["Z"], (rep.get("history") or {}).get("latent_activity"))
    return job


@plt.rc_context(AS_WRITTEN)
def _model_figures(
    path: str,
    name: str,
    originals: np.ndarray,
    kw: dict,
    names: list[str],
    fig_dir: Path,
    traverse: tuple | None = None,
) -> tuple[list[Path], str | None]:
    """Runs in a worker: a saved model's reconstructions of ``originals`` (feature vectors, or for a ConvVAE whole
    log-mel clips, of which it shows the middle crop) and, given ``traverse`` ``(Z, latent activity)``, its latent
    traversals. Returns ``(paths, problem)``: a figure that cannot be drawn is reported, never raised."""
    from .models import LatentModel

    try:
        model = LatentModel.load(path)
        if model.spec.conv:
            # the middle 3-s crop of each example, at the resolution the model sees (the transfer ConvVAE: in musicnn's
            # own log-mel, with the front-end steps under it, one per 4 frames)
            crop, step = model.crop_, 4 if model.spec.frontend else 1
            start = max(0, (originals.shape[2] - crop) // 2) // step * step
            originals = originals[:, :, start : start + crop]
            if "frontend" in kw:
                kw = {"frontend": kw["frontend"][:, :, start // step : (start + crop) // step]}
            what = "Transfer ConvVAE (musicnn front end)" if model.spec.frontend else "ConvVAE"
            title = f"{what}: {crop}-frame log-mel crops (3 s) and their reconstructions"
            fig = logmel_reconstruction_figure(originals, model.reconstruct(originals, **kw), names, title)
            paths = [_save(fig, fig_dir / f"reconstruction_{model.name}.png")]
        else:
            title = f"{name}: feature-vector reconstructions"
            fig = feature_reconstruction_figure(originals, model.reconstruct(originals, **kw), names, title)
            paths = [_save(fig, fig_dir / f"reconstruction_{name}.png")]
        if traverse is not None:
            paths.append(_traversal(model, traverse[0], fig_dir, name, traverse[1]))
        return paths, None
    except Exception as exc:
        return [], str(exc).splitlines()[0]


def save_embeddings(run_dir: Path, reps: dict, config) -> Path:
    """``embeddings_2d.npz`` without the figures (``--no-plots``): the 2-D UMAP of each representation's first seed,
    on at most ``plot_max_points`` tracks (seeded subsample)."""
    first_seed = {}
    for name, seed in reps:
        first_seed.setdefault(name, seed)
    arrays = {}
    for name, seed in first_seed.items():
        Z = reps[(name, seed)]["Z"]
        idx = reps[(name, seed)]["rows"]
        idx = idx if idx is not None else np.arange(len(Z))
        plot_idx = np.arange(len(Z))
        if len(Z) > config.plot_max_points:
            plot_idx = np.sort(np.random.default_rng(seed).choice(len(Z), config.plot_max_points, replace=False))
        arrays[f"{name}_xy"] = embed_2d(Z[plot_idx], "umap", seed)
        arrays[f"{name}_rows"] = idx[plot_idx]
    path = run_dir / "embeddings_2d.npz"
    np.savez_compressed(path, **arrays)
    return path


def _traversal(model, Z: np.ndarray, fig_dir: Path, name: str, activity: dict | None, n_dims: int = 3) -> Path:
    """Decode points moving along the most informative latent dimensions: those with the largest KL from the prior
    (the active units, see `LatentModel._latent_activity`), else the largest spread of the posterior means."""
    score = np.asarray(activity["per_dim"]) if activity else Z.var(axis=0)
    dims = [int(d) for d in np.argsort(score)[::-1][:n_dims]]
    values = np.linspace(-3, 3, 7)
    decoded = []
    for d in dims:
        pts = np.zeros((len(values), model.latent_dim), np.float32)
        pts[:, d] = values
        decoded.append(model.decode(pts)["audio"])
    active = f"; {activity['active_units']} of {activity['latent_dim']} units active" if activity else ""
    title = f"{name}: traversals of its most informative latent units (others held at 0){active}"
    fig = traversal_figure(np.stack(decoded), values, dims, title)
    return _save(fig, fig_dir / f"traversal_{name}.png")
