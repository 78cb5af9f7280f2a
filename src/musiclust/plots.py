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

        return TSNE(n_components=2, perplexity=float(min(30.0, max(2.0, (n - 1) / 3))), init="pca",
                    random_state=seed).fit_transform(Z)
    if method == "umap":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # umap warns that a fixed random_state disables parallelism
            import umap

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
        ax.scatter(E[m, 0], E[m, 1], s=10, color=colour, label="noise" if cls == "-1" else cls, alpha=0.8,
                   linewidths=0)
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
