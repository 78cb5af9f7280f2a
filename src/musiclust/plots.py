"""Figures. Functions take data (and an ``ax`` where it makes sense) and return a figure; nothing calls
``plt.show()``, so they work headless, in scripts and in the notebook alike."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def embed_2d(Z: np.ndarray, method: str, seed: int) -> np.ndarray:
    """2-D embedding ``(n, 2)`` of ``Z`` ``(n, d)`` by ``"tsne"`` (scikit-learn) or ``"umap"`` (umap-learn)."""
    Z = np.asarray(Z, dtype=np.float64)
    n = len(Z)
    if Z.shape[1] == 1:
        Z = np.hstack([Z, np.zeros_like(Z)])
    if method == "tsne":
        from sklearn.manifold import TSNE

        return TSNE(
            n_components=2, perplexity=float(min(30.0, max(2.0, (n - 1) / 3))), init="pca", random_state=seed
        ).fit_transform(Z)
    if method == "umap":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # umap warns that a fixed random_state disables parallelism
            from .logs import import_umap

            umap = import_umap()

            return umap.UMAP(n_components=2, n_neighbors=max(2, min(15, n - 1)), random_state=seed).fit_transform(Z)
    raise ValueError(f"unknown embedding method {method!r}")


def scatter_labels(ax, E: np.ndarray, labels, title: str, max_legend: int = 14) -> None:
    """Scatter a 2-D embedding coloured by categorical ``labels`` (noise label -1 in grey)."""
    labels = np.asarray(labels).astype(str)
    classes = sorted(np.unique(labels), key=lambda s: (s == "-1", s))
    cmap = plt.get_cmap("tab20" if len(classes) > 10 else "tab10")
    for i, cls in enumerate(classes):
        m = labels == cls
        colour = "lightgrey" if cls == "-1" else cmap(i % cmap.N)
        ax.scatter(E[m, 0], E[m, 1], s=10, color=colour, label="noise" if cls == "-1" else cls, alpha=0.8, linewidths=0)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    if len(classes) <= max_legend:
        ax.legend(fontsize=6, markerscale=1.5, loc="best", frameon=False)


def embedding_figure(E: np.ndarray, colourings: dict[str, np.ndarray], title: str):
    """One panel per colouring (e.g. cluster, style, language) of the same 2-D embedding."""
    n = len(colourings)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 4.2), squeeze=False)
    for ax, (name, labels) in zip(axes[0], colourings.items()):
        scatter_labels(ax, E, labels, f"coloured by {name}")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def cluster_distribution_figure(clusters, label_columns: dict[str, np.ndarray], title: str):
    """Contingency heatmaps cluster x each label (row-normalized counts shown as colour, counts as text) and the
    cluster sizes."""
    import pandas as pd

    clusters = np.asarray(clusters).astype(str)
    n = len(label_columns) + 1
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n, 4.2), squeeze=False)
    for ax, (name, labels) in zip(axes[0], label_columns.items()):
        table = pd.crosstab(pd.Series(clusters, name="cluster"), pd.Series(np.asarray(labels).astype(str), name=name))
        frac = table.div(table.sum(axis=1), axis=0)
        ax.imshow(frac.to_numpy(), aspect="auto", cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(table.shape[1]), table.columns, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(table.shape[0]), table.index, fontsize=7)
        if table.size <= 300:
            for i in range(table.shape[0]):
                for j in range(table.shape[1]):
                    ax.text(
                        j,
                        i,
                        int(table.iat[i, j]),
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="white" if frac.iat[i, j] > 0.6 else "black",
                    )
        ax.set_xlabel(name)
        ax.set_ylabel("cluster")
        ax.set_title(f"cluster x {name}", fontsize=10)
    sizes = pd.Series(clusters).value_counts().sort_index()
    axes[0][-1].bar(range(len(sizes)), sizes.to_numpy(), color="grey")
    axes[0][-1].set_xticks(range(len(sizes)), sizes.index, fontsize=7)
    axes[0][-1].set_title("cluster sizes", fontsize=10)
    axes[0][-1].set_xlabel("cluster (-1 = noise)")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def panel_name(text: str, width: int = 24, lines: int = 2) -> str:
    """A track's name for a panel title: wrapped on words into at most ``lines`` lines, cut with an ellipsis."""
    import textwrap

    wrapped = textwrap.wrap(str(text), width) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = textwrap.shorten(wrapped[-1] + " …", width, placeholder=" …")
    return "\n".join(wrapped)


# sizes chosen for print: the report places these figures at 90-100% of a 6-inch text width, so a figure about 7.5 in
# wide is scaled by ~0.75 and 9-pt text prints at about 6.5 pt
RECONSTRUCTION_FONT = 9


def logmel_reconstruction_figure(originals: np.ndarray, reconstructions: np.ndarray, names: list[str], title: str):
    """Log-mel patches ``(m, n_mels, n_frames)``: originals (top row) beside their reconstructions (bottom row);
    ``names`` title each column ("title — artist (label)")."""
    m = len(originals)
    fig, axes = plt.subplots(2, m, figsize=(1.9 * m, 4.6), squeeze=False)
    lo, hi = float(np.min(originals)), float(np.max(originals))
    for j in range(m):
        for i, (img, label) in enumerate(((originals[j], "original"), (reconstructions[j], "reconstruction"))):
            ax = axes[i][j]
            ax.imshow(img, origin="lower", aspect="auto", cmap="magma", vmin=lo, vmax=hi)
            ax.set_xticks([])
            ax.set_yticks([])
            head = f"{panel_name(names[j])}\n{label}" if i == 0 else label
            ax.set_title(head, fontsize=RECONSTRUCTION_FONT)
    fig.suptitle(title, fontsize=RECONSTRUCTION_FONT + 1)
    fig.tight_layout()
    return fig


def feature_reconstruction_figure(originals: np.ndarray, reconstructions: np.ndarray, names: list[str], title: str):
    """Standardized feature vectors ``(m, d)`` of a few tracks: original and reconstruction overlaid."""
    m = len(originals)
    fig, axes = plt.subplots(m, 1, figsize=(7.5, 1.6 * m), squeeze=False, sharex=True)
    for j in range(m):
        ax = axes[j][0]
        ax.plot(originals[j], color="black", lw=1, label="original")
        ax.plot(reconstructions[j], color="tab:red", lw=1, ls="--", label="reconstruction")
        ax.set_title(panel_name(names[j], width=70, lines=1), fontsize=RECONSTRUCTION_FONT, loc="left")
        ax.tick_params(labelsize=RECONSTRUCTION_FONT - 1)
    axes[0][0].legend(fontsize=RECONSTRUCTION_FONT - 1, loc="upper right")
    axes[-1][0].set_xlabel("feature index (standardized)", fontsize=RECONSTRUCTION_FONT)
    fig.suptitle(title, fontsize=RECONSTRUCTION_FONT + 1)
    fig.tight_layout()
    return fig


def traversal_figure(decoded: np.ndarray, values: np.ndarray, dims: list[int], title: str):
    """Latent traversals: ``decoded`` ``(len(dims), len(values), d)``, one heatmap per latent dimension."""
    fig, axes = plt.subplots(1, len(dims), figsize=(3.4 * len(dims), 3.6), squeeze=False)
    lim = float(np.abs(decoded).max()) or 1.0
    for ax, dim, block in zip(axes[0], dims, decoded):
        ax.imshow(block.T, aspect="auto", cmap="coolwarm", vmin=-lim, vmax=lim, origin="lower")
        ax.set_xticks(range(len(values)), [f"{v:g}" for v in values], fontsize=7)
        ax.set_xlabel(f"z[{dim}] value", fontsize=8)
        ax.set_ylabel("decoded feature index", fontsize=8)
        ax.set_title(f"latent dimension {dim}", fontsize=9)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def training_curves_figure(histories: dict[str, dict], title: str):
    """Reconstruction and KL terms per epoch (training and validation) for each model."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, (name, h) in enumerate(histories.items()):
        colour = plt.get_cmap("tab10")(i % 10)
        for ax, key in zip(axes, ("reconstruction_loss", "kl_loss")):
            if key in h:
                ax.plot(h[key], color=colour, label=name)
            if f"val_{key}" in h:
                ax.plot(h[f"val_{key}"], color=colour, ls="--")
    for ax, key in zip(axes, ("reconstruction", "KL")):
        ax.set_xlabel("epoch")
        ax.set_title(f"{key} term (solid: training, dashed: validation)", fontsize=9)
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


HEATMAP_FONT = 8
HEATMAP_MAX_WIDTH = 7.4  # inches


def nmi_heatmap_figure(summary, label: str, metric: str = "nmi", title: str = ""):
    """Annotated heatmap representation x clusterer of the mean ``metric`` against ``label`` (the mean over seeds in
    each cell, two decimals -- the std is in the report's appendix table; the best cell outlined). ``summary``: the wide
    summary (`evaluation.wide_summary`). Sized for print: at most `HEATMAP_MAX_WIDTH` inches wide with
    `HEATMAP_FONT`-pt cell text, so at the report's full text width (6 in) the cells print at 6.5 pt or more."""
    import pandas as pd

    mean = summary.pivot(index="representation", columns="clusterer", values=f"{metric}_{label}_mean")
    rows = list(dict.fromkeys(summary["representation"]))
    cols = list(dict.fromkeys(summary["clusterer"]))
    mean = mean.reindex(index=rows, columns=cols)
    width = min(HEATMAP_MAX_WIDTH, 0.62 * len(cols) + 2.4)
    fig, ax = plt.subplots(figsize=(width, 0.3 * len(rows) + 1.7))
    values = mean.to_numpy(dtype=float)
    im = ax.imshow(
        np.nan_to_num(values, nan=0.0),
        cmap="viridis",
        vmin=0,
        vmax=max(0.05, float(np.nanmax(values))) if np.isfinite(values).any() else 1.0,
        aspect="auto",
    )
    for i in range(len(rows)):
        for j in range(len(cols)):
            v = values[i, j]
            text = "n/a" if pd.isna(v) else f"{v:.2f}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=HEATMAP_FONT,
                color="black" if (not pd.isna(v) and v > 0.6 * np.nanmax(values)) else "white",
            )
    if np.isfinite(values).any():
        bi, bj = np.unravel_index(np.nanargmax(values), values.shape)
        ax.add_patch(plt.Rectangle((bj - 0.5, bi - 0.5), 1, 1, fill=False, edgecolor="red", lw=2))
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right", fontsize=HEATMAP_FONT)
    ax.set_yticks(range(len(rows)), rows, fontsize=HEATMAP_FONT)
    bar = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label(f"{metric.upper()} against {label}", fontsize=HEATMAP_FONT)
    bar.ax.tick_params(labelsize=HEATMAP_FONT - 1)
    ax.set_title(
        title or f"{metric.upper()} against {label}: mean over seeds (best outlined)", fontsize=HEATMAP_FONT + 1
    )
    fig.tight_layout()
    return fig


def k_selection_figure(k_info: dict, title: str):
    """The four label-free criteria of ``--k auto`` against k, each with its own pick marked, and the chosen k."""
    crit = k_info["criteria_by_k"]
    ks = sorted(int(k) for k in crit)
    names = [
        ("silhouette", "higher is better"),
        ("calinski_harabasz", "higher is better"),
        ("davies_bouldin", "lower is better"),
        ("gmm_bic", "lower is better"),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.4))
    for ax, (name, better) in zip(axes, names):
        ax.plot(ks, [crit[str(k)][name] for k in ks], marker="o", color="tab:blue")
        pick = k_info["picks"][name]
        ax.axvline(pick, color="tab:orange", ls="--", label=f"its pick: {pick}")
        ax.axvline(k_info["k"], color="black", lw=0.8, label=f"chosen: {k_info['k']}")
        ax.set_title(f"{name.replace('_', ' ')} ({better})", fontsize=9)
        ax.set_xlabel("k")
        ax.legend(fontsize=7)
    fig.suptitle(f"{title}: {k_info['chosen_by']}", fontsize=9)
    fig.tight_layout()
    return fig
