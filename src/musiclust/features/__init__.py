"""Features: dataset -> feature matrix ``(n_tracks, n_features)`` (or log-mel patches for convolutional models).

Audio sources are decoded and analysed by `engine` (parallel, cached); table sources bring their own features.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..datasets.base import Dataset
from .cache import FeatureCache
from .engine import extract_many


@dataclass
class FeatureMatrix:
    """Features aligned with ``dataset.tracks`` (tracks whose audio failed are removed from both).

    ``X``: ``(n_tracks, n_features)``, or ``(n_tracks, n_mels, n_frames)`` (memory-mapped) for patch sets.
    """

    X: np.ndarray
    columns: list[str] | None
    dataset: Dataset
    feature_set: str
    skipped: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    n_cached: int = 0


def subset(dataset: Dataset, keep: list[int], more_skipped: list[dict]) -> Dataset:
    """The dataset restricted to rows ``keep`` (in order), with extra skipped items recorded."""
    tracks = dataset.tracks.iloc[keep].reset_index(drop=True)
    features = dataset.features.iloc[keep].reset_index(drop=True) if dataset.features is not None else None
    return Dataset(
        dataset.name,
        tracks,
        dataset.label_columns,
        dataset.primary_label,
        dataset.description,
        features,
        dataset.skipped + more_skipped,
        dataset.info,
    )


def build_features(
    dataset: Dataset,
    feature_set: str = "mfcc",
    n_jobs: int = -1,
    progress: bool = True,
    cache_dir: str | None = None,
    dask_scheduler: str | None = None,
) -> FeatureMatrix:
    """The feature matrix of a dataset. A table dataset's own columns are used as they are (``feature_set='table'``).

    ``cache_dir=None`` disables the cache; the dataset's ``sha256`` column, when present, keys the cache by content.
    """
    return build_features_many(dataset, [feature_set], n_jobs, progress, cache_dir, dask_scheduler)[feature_set]


def _table_features(dataset: Dataset, feature_set: str) -> FeatureMatrix:
    """A dataset's own feature columns: all of them (``"table"``), or a named set of them where the source defines
    sets (``Dataset.info["feature_sets"]``, e.g. the MSD's ``msd`` and ``msd_timbre``; its default for audio set
    names such as the default ``mfcc``)."""
    sets = dataset.info.get("feature_sets")
    if not sets:
        return FeatureMatrix(dataset.features.to_numpy(float), list(dataset.features.columns), dataset, "table")
    name = feature_set if feature_set in sets else dataset.info["default_feature_set"]
    columns = list(sets[name])
    return FeatureMatrix(dataset.features[columns].to_numpy(float), columns, dataset, name)


def build_features_many(
    dataset: Dataset,
    feature_sets: list[str],
    n_jobs: int = -1,
    progress: bool = True,
    cache_dir: str | None = None,
    dask_scheduler: str | None = None,
) -> dict[str, FeatureMatrix]:
    """Several feature sets in one pass over the audio (one decode and one STFT per clip for all of them)."""
    if dataset.features is not None:
        return {fs: _table_features(dataset, fs) for fs in feature_sets}
    tracks = dataset.tracks
    sha = tracks["sha256"].astype(str).tolist() if "sha256" in tracks.columns else None
    results = extract_many(
        tracks["audio_path"].tolist(),
        feature_sets,
        n_jobs=n_jobs,
        progress=progress,
        cache=FeatureCache(cache_dir) if cache_dir else None,
        sha256=sha,
        dask_scheduler=dask_scheduler,
    )
    first = results[feature_sets[0]]
    if first.skipped:
        dataset = subset(dataset, first.kept, first.skipped)
    return {
        fs: FeatureMatrix(ex.X, ex.columns, dataset, fs, ex.skipped, ex.notes, ex.n_cached)
        for fs, ex in results.items()
    }
