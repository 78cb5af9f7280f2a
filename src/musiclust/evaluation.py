"""Scoring: which labels a run is judged against (each at its own k), the clustering x metrics grid, its summary.

Each label column L is a *target*. Clusterers that take k run with k_L = the number of classes of L (among the tracks
labelled in L), so language (2 classes) is never judged with the genre count, and the metrics against L come from
that clustering; a track with a blank label is left out of L's metrics only. ``k`` given as a number forces one k for
every target; ``"auto"`` chooses one k from label-free criteria (`choose_k_auto`). Clusterers without k (DBSCAN,
HDBSCAN) cluster once and are judged against every target.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .clustering import CLUSTERERS, cluster, k_criteria
from .errors import MusiclustError
from .metrics import EXTERNAL, INTERNAL, external_metrics, internal_metrics
from .representations import REPRESENTATIONS, input_name, split_name

log = logging.getLogger(__name__)


@dataclass
class Target:
    """A label column to judge clusterings against: its k, and which tracks carry a label ``(n_tracks,)``."""

    label: str
    k: int
    labelled: np.ndarray
    n_classes: int


def resolve_targets(
    dataset, k_option, X: np.ndarray, seed: int, k_range=(2, 16)
) -> tuple[list[Target], list[dict], dict]:
    """``(targets, skipped_labels, k_info)``.

    A label with fewer than two classes among its labelled tracks is skipped with the reason (never a crash); if no
    label is left, the run cannot be judged and a one-line error says so.
    """
    n = len(dataset)
    k_info: dict = {}
    forced = None
    if k_option == "auto":
        lo, hi = k_range
        forced, k_info = choose_k_auto(X, range(max(2, lo), min(hi, n - 1) + 1), seed)
    elif k_option is not None:
        if k_option > n:
            raise MusiclustError(f"k={k_option} is larger than the number of tracks ({n}): pass a smaller --k")
        forced = int(k_option)
        k_info = {"k": forced, "chosen_by": "given (--k), the same for every label"}
    targets, skipped = [], []
    for col in dataset.label_columns:
        labelled = dataset.labelled(col)
        n_lab = int(labelled.sum())
        classes = dataset.tracks[col][labelled].astype(str).unique()
        if len(classes) < 2:
            why = (
                f"no track has a {col} label (all blank or unknown)"
                if n_lab == 0
                else f"a single class ('{classes[0]}') among the {n_lab} labelled tracks: clustering cannot be judged "
                f"against it"
            )
            log.warning("label '%s' skipped: %s", col, why)
            skipped.append({"label": col, "reason": why})
            continue
        k = forced if forced is not None else len(classes)
        if k > n:
            skipped.append({"label": col, "reason": f"{k} classes but only {n} tracks"})
            continue
        targets.append(Target(col, k, labelled, len(classes)))
    if not targets:
        reasons = "; ".join(f"{s['label']}: {s['reason']}" for s in skipped)
        raise MusiclustError(
            f"no label column has two classes to judge the clusters against ({reasons}); choose another --label-column"
        )
    if forced is None:
        k_info = {
            "by_label": {t.label: t.k for t in targets},
            "chosen_by": "each label's own number of classes (among its labelled tracks)",
        }
    return targets, skipped, k_info


def choose_k_auto(X: np.ndarray, k_range: range, seed: int) -> tuple[int, dict]:
    """One k from four label-free criteria, and the record of how.

    Each criterion picks its own k (silhouette: highest; Calinski-Harabasz: highest; Davies-Bouldin: lowest; GMM
    BIC: lowest); the rule takes the median of the four picks (the lower middle one). Silhouette alone picked k=2
    on two real tables with 18 and 5 classes, which is why it is one vote of four.
    """
    scores = k_criteria(X, k_range, seed)
    if not scores:
        raise MusiclustError("too few tracks to choose k automatically")
    ks = sorted(scores)
    picks = {
        "silhouette": max(ks, key=lambda k: scores[k]["silhouette"]),
        "calinski_harabasz": max(ks, key=lambda k: scores[k]["calinski_harabasz"]),
        "davies_bouldin": min(ks, key=lambda k: scores[k]["davies_bouldin"]),
        "gmm_bic": min(ks, key=lambda k: scores[k]["gmm_bic"]),
    }
    votes = sorted(picks.values())
    k = votes[(len(votes) - 1) // 2]
    return k, {
        "k": k,
        "chosen_by": "median of the k picked by four label-free criteria (silhouette max, "
        "Calinski-Harabasz max, Davies-Bouldin min, GMM BIC min; lower middle of four)",
        "picks": picks,
        "criteria_by_k": {str(k_): v for k_, v in scores.items()},
    }


def score(
    config,
    dataset,
    reps: dict,
    targets: list[Target],
    ref_space: np.ndarray,
    condition_column: str | None = None,
    model_notes: dict | None = None,
    main_features: str | None = None,
) -> tuple[pd.DataFrame, dict]:
    """``(metrics, assignments)``: one row per representation x clusterer x seed x target (see README for the
    columns), and each representation x clusterer's cluster of every track it covers, ``{(rep, clusterer): (rows,
    labels)}``, from its first seed at the primary label's k (for clusters.csv, the figures and the explorer), and
    ``{(rep, clusterer, k): (rows, labels)}`` at every other label's k."""
    rows = []
    assignments = {}
    model_notes = model_notes or {}
    tracks = dataset.tracks
    main_features = main_features or config.features
    ks = sorted({t.k for t in targets})
    for (name, seed), rep in reps.items():
        Z = rep["Z"]
        idx = rep["rows"] if rep["rows"] is not None else np.arange(len(tracks))
        for clu_name in config.clusterers:
            spec = CLUSTERERS[clu_name]
            # Seed-independent representations are still clustered with every seed (K-Means varies with it).
            clu_seeds = config.seeds if not REPRESENTATIONS[name].seeded else [seed]
            for clu_seed in clu_seeds:
                clusterings = {}
                for k in ks if spec.uses_k else [None]:
                    res = cluster(clu_name, Z, k or 2, clu_seed)
                    own = internal_metrics(Z, res.labels, random_state=clu_seed)
                    ref = internal_metrics(ref_space[idx], res.labels, random_state=clu_seed)
                    clusterings[k] = (res, own, ref)
                if (name, clu_name) not in assignments:
                    first = clusterings[targets[0].k if spec.uses_k else None][0]
                    assignments[(name, clu_name)] = (idx, first.labels)
                    # the other labels' k too, so the clusters judged against each label can be read (cards)
                    for k in ks if spec.uses_k else []:
                        if k != targets[0].k:
                            assignments[(name, clu_name, k)] = (idx, clusterings[k][0].labels)
                for t in targets:
                    res, own, ref = clusterings[t.k if spec.uses_k else None]
                    rows.append(
                        _row(
                            name,
                            clu_name,
                            clu_seed,
                            t,
                            res,
                            own,
                            ref,
                            rep,
                            idx,
                            tracks,
                            Z,
                            spec.uses_k,
                            condition_column,
                            model_notes.get(split_name(name)[0]),
                            input_name(name, main_features),
                        )
                    )
    metrics = pd.DataFrame(rows)
    ordered = [
        "representation",
        "input",
        "clusterer",
        "seed",
        "target",
        "k",
        "n_tracks",
        "n_labelled",
        "n_clusters_found",
        "noise_fraction",
        "latent_dim",
        "fit_seconds",
        *INTERNAL,
        *[f"{m}_ref" for m in INTERNAL],
        *EXTERNAL,
        "note",
    ]
    return metrics[[c for c in ordered if c in metrics.columns]], assignments


def assignment_column(representation: str, clusterer: str, k: int | None = None) -> str:
    """The ``clusters.csv`` column of a method: ``rep/clusterer`` (primary label's k), ``rep/clusterer/k=<k>``."""
    return f"{representation}/{clusterer}" + (f"/k={k}" if k is not None else "")


def assignments_table(track_ids, assignments: dict) -> pd.DataFrame:
    """``clusters.csv``: ``track_id`` and one column ``<representation>/<clusterer>`` per method at the primary label's
    k, and ``<representation>/<clusterer>/k=<k>`` at each other label's k (-1 = noise, empty = the representation does
    not cover the track, e.g. lyrics without text)."""
    out = pd.DataFrame({"track_id": np.asarray(track_ids).astype(str)})
    for key, (idx, labels) in assignments.items():
        col = np.full(len(out), np.nan)
        col[idx] = labels
        out[assignment_column(*key)] = pd.array(col, dtype="Int64")
    return out


def _row(
    name, clu_name, seed, target, res, own, ref, rep, idx, tracks, Z, uses_k, condition_column, model_note, input_
):
    labels = res.labels
    row = {
        "representation": name,
        "input": input_,
        "clusterer": clu_name,
        "seed": seed,
        "target": target.label,
        "k": target.k if uses_k else np.nan,
        "n_tracks": len(idx),
        "n_clusters_found": res.n_clusters,
        "noise_fraction": res.noise_fraction,
        "latent_dim": int(Z.shape[1]),
        "fit_seconds": rep["seconds"],
    }
    notes = [n for n in [rep["note"], model_note, *res.notes] if n]
    if res.params:
        notes.append(", ".join(f"{a}={b:.4g}" for a, b in res.params.items()))
    if "note" in own:
        notes.append(f"internal: {own['note']}")
    row.update({m: v for m, v in own.items() if m != "note"})
    row.update({f"{m}_ref": v for m, v in ref.items() if m != "note"})
    mask = target.labelled[idx]
    row["n_labelled"] = int(mask.sum())
    if mask.sum() < len(idx):
        notes.append(f"{len(idx) - int(mask.sum())} tracks without a {target.label} label left out of its metrics")
    degenerate = res.n_clusters < 2
    if degenerate:
        ext = {m: np.nan for m in EXTERNAL}
        what = "all points are noise" if res.n_clusters == 0 else "only one cluster found"
        notes.append(f"external metrics undefined: {what}")
    else:
        y = tracks[target.label].to_numpy()[idx][mask].astype(str)
        ext = external_metrics(y, labels[mask])
        if "note" in ext:
            notes.append(f"{target.label}: {ext.pop('note')}")
    row.update(ext)
    if split_name(name)[0] == "cvae" and condition_column == target.label:
        # the CVAE's own note says what it is conditioned on; the join below drops the repeat
        notes += [f"conditioned on '{target.label}'", f"its {target.label} scores are not a fair test"]
    row["note"] = "; ".join(dict.fromkeys(notes))
    return row


def summarize(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds of every numeric metric, per representation x clusterer x target.

    ``n_seeds`` counts the seeds with a finite NMI; ``n_degenerate`` the seeds where the clusterer found only noise or
    a single cluster (their metrics are NaN and left out of the mean).
    """
    skip = {"representation", "input", "clusterer", "seed", "target", "note", "run_id", "k", "latent_dim"}
    value_cols = [c for c in metrics.columns if c not in skip and pd.api.types.is_numeric_dtype(metrics[c])]
    keys = ["representation", "clusterer", "target"]
    grouped = metrics.groupby(keys, sort=False)
    mean = grouped[value_cols].mean().add_suffix("_mean")
    std = grouped[value_cols].std(ddof=0).add_suffix("_std")
    out = pd.concat([mean, std], axis=1)
    ordered = [c for v in value_cols for c in (f"{v}_mean", f"{v}_std")]
    out = out[ordered]
    out.insert(0, "k", grouped["k"].first())
    if "input" in metrics.columns:  # what the representation clusters (mfcc, musicnn, lyrics, ...)
        out.insert(0, "input", grouped["input"].first())
    out.insert(1, "n_seeds", grouped["nmi"].apply(lambda s: int(np.isfinite(s.to_numpy(float)).sum())))
    out.insert(2, "n_degenerate", grouped["n_clusters_found"].apply(lambda s: int((s < 2).sum())))
    return out.reset_index()


def wide_summary(summary: pd.DataFrame, targets: list[str]) -> pd.DataFrame:
    """One row per representation x clusterer, with ``<metric>_<target>_{mean,std}`` columns for every target (in the
    order of ``targets``) and ``k_<target>``: the shape tables and figures read."""
    keys = ["representation", "clusterer"]
    value_cols = [c for c in summary.columns if c.endswith(("_mean", "_std"))]
    out = summary[keys].drop_duplicates().reset_index(drop=True)
    if "input" in summary.columns:
        out.insert(1, "input", out["representation"].map(summary.groupby("representation")["input"].first()))
    for t in targets:
        part = summary[summary["target"] == t]
        if part.empty:
            continue
        renamed = {
            c: c.replace("_mean", f"_{t}_mean") if c.endswith("_mean") else c.replace("_std", f"_{t}_std")
            for c in value_cols
        }
        renamed.update({"k": f"k_{t}", "n_seeds": f"n_seeds_{t}", "n_degenerate": f"n_degenerate_{t}"})
        out = out.merge(part[keys + list(renamed)].rename(columns=renamed), on=keys, how="left")
    return out
