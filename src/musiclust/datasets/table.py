"""A features table: a CSV with numeric feature columns plus named label columns.

Kaggle's GTZAN ``features_30_sec.csv`` is one (id column ``filename``, label column ``label``, 57 features plus
``length``). Non-numeric columns that are neither labels nor the id are ignored (and listed in the log).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MusiclustError
from .base import Dataset

log = logging.getLogger(__name__)


def load(
    path: str | Path,
    label_columns: list[str] | None = None,
    id_column: str | None = None,
    drop_columns: list[str] | None = None,
) -> Dataset:
    """Read a features table. ``label_columns[0]`` is the primary label (default ``["label"]``)."""
    if path is None:
        raise MusiclustError("the table dataset needs a CSV path: pass --data-path FILE.csv")
    path = Path(path)
    if not path.is_file():
        raise MusiclustError(f"features table {path} does not exist: pass --data-path with an existing CSV file")
    try:
        df = pd.read_csv(path)
    except Exception as exc:
        raise MusiclustError(f"cannot read {path} as CSV: {str(exc).splitlines()[0]}") from None
    if df.empty:
        raise MusiclustError(f"features table {path} has no rows")
    label_columns = list(label_columns or ["label"])
    missing = [c for c in label_columns if c not in df.columns]
    if missing:
        raise MusiclustError(
            f"{path.name} has no label column {missing}; its columns are {list(df.columns)[:8]}...; "
            f"pass --label-column NAME"
        )
    if id_column is not None and id_column not in df.columns:
        raise MusiclustError(f"{path.name} has no id column '{id_column}': pass --id-column NAME")
    if id_column is None and "filename" in df.columns:
        id_column = "filename"
    drop = set(drop_columns or [])
    excluded = set(label_columns) | {id_column} | drop
    numeric = [c for c in df.columns if c not in excluded and pd.api.types.is_numeric_dtype(df[c])]
    ignored = [c for c in df.columns if c not in excluded and c not in numeric]
    if ignored:
        log.info("ignoring non-numeric column(s) %s", ignored)
    if not numeric:
        raise MusiclustError(f"{path.name} has no numeric feature columns besides the labels")
    features = df[numeric].astype(float)
    bad = ~np.isfinite(features.to_numpy()).all(axis=1)
    skipped = []
    if bad.any():
        for i in np.flatnonzero(bad):
            skipped.append({"item": f"row {i}", "reason": "non-finite feature value"})
        log.warning("skipping %d row(s) with missing or non-finite features", int(bad.sum()))
    keep = ~bad
    tracks = pd.DataFrame({"track_id": df[id_column].astype(str) if id_column else [f"row{i}" for i in range(len(df))]})
    for col in label_columns:
        tracks[col] = df[col].astype(str)
    tracks = tracks[keep].reset_index(drop=True)
    return Dataset(
        name="table",
        tracks=tracks,
        label_columns=label_columns,
        primary_label=label_columns[0],
        description=f"Features table {path.name}: {int(keep.sum())} rows x {len(numeric)} numeric features.",
        features=features[keep].reset_index(drop=True),
        skipped=skipped,
    )
