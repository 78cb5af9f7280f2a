"""Features: dataset -> feature matrix ``(n_tracks, n_features)``.

Audio sources are decoded and analysed (see `audio`); table sources bring their own features.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..datasets.base import Dataset
from . import audio


@dataclass
class FeatureMatrix:
    """Features aligned with ``dataset.tracks`` (tracks whose audio failed are removed from both)."""

    X: np.ndarray  # (n_tracks, n_features)
    columns: list[str]
    dataset: Dataset
    feature_set: str
    skipped: list[dict] = field(default_factory=list)


def build_features(dataset: Dataset, feature_set: str = "mfcc", n_jobs: int = -1, progress: bool = True) -> FeatureMatrix:
    """The feature matrix of a dataset. A table dataset's own columns are used as they are (``feature_set='table'``)."""
    if dataset.features is not None:
        return FeatureMatrix(dataset.features.to_numpy(float), list(dataset.features.columns), dataset, "table")
    paths = dataset.tracks["audio_path"].tolist()
    X, columns, kept, skipped = audio.extract(paths, feature_set=feature_set, n_jobs=n_jobs, progress=progress)
    if skipped:
        tracks = dataset.tracks.iloc[kept].reset_index(drop=True)
        dataset = Dataset(dataset.name, tracks, dataset.label_columns, dataset.primary_label, dataset.description,
                          None, dataset.skipped + skipped)
    return FeatureMatrix(X, columns, dataset, feature_set, skipped)
