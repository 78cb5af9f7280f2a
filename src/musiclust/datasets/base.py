"""A dataset is a table of tracks plus the names of its label columns.

Every source (the embedded corpus, GTZAN, a features table, ...) returns the same `Dataset`, so everything downstream
(features, models, clustering, metrics) is written once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from ..errors import MusiclustError


@dataclass
class Dataset:
    """Tracks and their labels.

    Attributes:
        name: registry name of the source (``corpus``, ``gtzan``, ``table``, ...).
        tracks: one row per track, ``(n_tracks, ...)``; always ``track_id``; ``audio_path`` for audio sources;
            ``lyrics`` where the source has text; one column per label in ``label_columns``.
        label_columns: columns holding ground-truth labels used only for evaluation (never for fitting,
            except where a conditional model says so explicitly).
        primary_label: the label whose number of classes sets the default k.
        description: one paragraph saying plainly what the data is (shown in reports).
        features: precomputed feature matrix for table sources, ``(n_tracks, n_features)``, aligned with ``tracks``.
        skipped: tracks that could not be used, each ``{"item": ..., "reason": ...}``.
        info: facts about how the dataset was assembled (e.g. ``{"pairing": {...}}``), recorded with each run.
    """

    name: str
    tracks: pd.DataFrame
    label_columns: list[str]
    primary_label: str
    description: str = ""
    features: pd.DataFrame | None = None
    skipped: list[dict] = field(default_factory=list)
    info: dict = field(default_factory=dict)  # facts a run should record, e.g. lyrics pairing counts

    def __post_init__(self) -> None:
        missing = [c for c in ["track_id", *self.label_columns] if c not in self.tracks.columns]
        if missing:
            raise MusiclustError(f"dataset '{self.name}' lacks column(s) {missing}")
        if self.primary_label not in self.label_columns:
            raise MusiclustError(f"primary label '{self.primary_label}' is not one of {self.label_columns}")
        if len(self.tracks) == 0:
            raise MusiclustError(f"dataset '{self.name}' has no usable tracks")

    def __len__(self) -> int:
        return len(self.tracks)

    def labelled(self, column: str | None = None):
        """Boolean mask ``(n_tracks,)``: tracks with a label in ``column`` (blank, ``unknown`` and ``und`` cells are
        left out of that label's metrics only)."""
        from .tabular import is_blank_label

        return ~self.tracks[column or self.primary_label].map(is_blank_label).to_numpy(bool)

    def n_classes(self, column: str | None = None) -> int:
        """Number of distinct labels among the labelled tracks."""
        col = column or self.primary_label
        return int(self.tracks[col][self.labelled(col)].astype(str).nunique())

    def summary(self) -> str:
        parts = [f"{self.name}: {len(self)} tracks"]
        for col in self.label_columns:
            parts.append(f"{col}={self.n_classes(col)} classes")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return ", ".join(parts)


def pairing_line(pairing: dict) -> str:
    """One console line from ``Dataset.info["pairing"]`` (a metadata table or a lyrics table joined to audio)."""
    if "metadata_without_audio" in pairing:
        line = (
            f"pairing by '{pairing['key_column']}': {pairing['matched']} matched, "
            f"{pairing['audio_without_metadata']} audio without metadata, "
            f"{pairing['metadata_without_audio']} metadata without audio"
        )
    else:
        line = (
            f"lyrics pairing: {pairing['matched']} matched, {pairing['audio_only']} audio only, "
            f"{pairing['lyrics_only']} lyrics only"
        )
    if pairing.get("duplicate_keys"):
        line += f", {pairing['duplicate_keys']} duplicate key(s) (first row kept)"
    if "examples" in pairing:
        ex = pairing["examples"]
        line += f"; e.g. metadata key '{ex['metadata_key']}' vs audio file '{ex['audio_file']}'"
    return line


# name -> loader(**options) -> Dataset. A new source is one entry here (see datasets/__init__.py).
DatasetLoader = Callable[..., Dataset]
