"""A features table: a CSV/TSV with numeric feature columns plus named label columns.

Kaggle's GTZAN ``features_30_sec.csv`` is one (id column ``filename``, label column ``label``, 57 features plus
``length``). Only columns that are features are used. By default that is every numeric column except:

- id-like columns (``id``, ``*_id``, ``index``, ``Unnamed: *``): row numbers and keys carry no musical content;
- constant columns (nothing to cluster on);
- label leaks: any single column from which a depth-1 decision tree recovers a label column with >= 99% accuracy, or
  that has no more distinct values than the label has classes and determines it (>= 99%). Checked on tables of at
  least 30 labelled rows (on fewer, one threshold separates two classes by chance). On a real GTZAN+BanglaBeats
  table, ``length`` gave the language away; a ``label_id`` column equal to the language made "raw" score NMI 1.0.

Each dropped column is listed with its reason (`Dataset.info["feature_selection"]`, printed and saved in
``config.json``). ``feature_columns`` (use exactly these) and ``exclude_columns`` (drop these too) override.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MusiclustError
from .base import Dataset
from .tabular import duplicate_keys, is_blank_label, read_table, warn_duplicates

log = logging.getLogger(__name__)

LEAK_ACCURACY = 0.99
MIN_ROWS_FOR_LEAK_CHECK = 30
_ID_LIKE = re.compile(r"^(id|index|.*_id|unnamed: ?\d*)$", re.IGNORECASE)


def leak_reason(values: np.ndarray, labels: np.ndarray, label_name: str) -> str | None:
    """Why the feature column ``values`` ``(n,)`` gives away ``labels`` ``(n,)``, or None (blank labels left out)."""
    from sklearn.tree import DecisionTreeClassifier

    keep = np.array([not is_blank_label(v) for v in labels])
    x, y = values[keep].astype(float), labels[keep].astype(str)
    # On a handful of rows one threshold separates two classes by chance; a leak is a claim about a real table.
    if len(np.unique(y)) < 2 or len(y) < MIN_ROWS_FOR_LEAK_CHECK:
        return None
    stump = DecisionTreeClassifier(max_depth=1, random_state=0).fit(x.reshape(-1, 1), y)
    acc = float(stump.score(x.reshape(-1, 1), y))
    if acc >= LEAK_ACCURACY:
        return f"label leak: one threshold on it recovers '{label_name}' with {acc:.1%} accuracy"
    if len(np.unique(x)) <= len(np.unique(y)):
        majority = pd.DataFrame({"x": x, "y": y}).groupby("x")["y"].agg(lambda s: s.value_counts().iloc[0]).sum()
        acc = majority / len(y)
        if acc >= LEAK_ACCURACY:
            return f"label leak: its values name the '{label_name}' class for {acc:.1%} of the rows"
    return None


def select_features(
    df: pd.DataFrame,
    label_columns: list[str],
    id_column: str | None,
    feature_columns: list[str] | None = None,
    exclude_columns: list[str] | None = None,
) -> tuple[list[str], list[dict]]:
    """``(features, dropped)``: the feature columns, and ``{"column", "reason"}`` for each numeric column left out."""
    reserved = set(label_columns) | {id_column}
    if feature_columns:
        bad = [c for c in feature_columns if c not in df.columns]
        if bad:
            raise MusiclustError(f"--feature-columns {bad} are not in the table; its columns are {list(df.columns)}")
        nonnum = [c for c in feature_columns if not pd.api.types.is_numeric_dtype(df[c])]
        if nonnum:
            raise MusiclustError(f"--feature-columns {nonnum} are not numeric")
        leaks = [c for c in feature_columns if c in reserved]
        if leaks:
            raise MusiclustError(f"--feature-columns {leaks} are label or id columns")
        return list(feature_columns), [
            {"column": c, "reason": "not in --feature-columns"}
            for c in df.columns
            if c not in feature_columns and c not in reserved and pd.api.types.is_numeric_dtype(df[c])
        ]
    exclude = set(exclude_columns or [])
    unknown = sorted(exclude - set(df.columns))
    if unknown:
        raise MusiclustError(f"--exclude-columns {unknown} are not in the table; its columns are {list(df.columns)}")
    features, dropped = [], []
    for c in df.columns:
        if c in reserved or not pd.api.types.is_numeric_dtype(df[c]):
            continue
        if c in exclude:
            dropped.append({"column": c, "reason": "excluded by --exclude-columns"})
        elif _ID_LIKE.match(str(c)):
            dropped.append({"column": c, "reason": "id-like column name (an id or row number, not a feature)"})
        elif df[c].nunique(dropna=True) <= 1:
            dropped.append({"column": c, "reason": "constant column"})
        else:
            reason = None
            values = df[c].to_numpy(float)
            finite = np.isfinite(values)
            for lab in label_columns:
                reason = leak_reason(values[finite], df[lab].astype(str).to_numpy()[finite], lab)
                if reason:
                    break
            if reason:
                dropped.append({"column": c, "reason": reason})
            else:
                features.append(c)
    return features, dropped


def load(
    path: str | Path,
    label_columns: list[str] | None = None,
    id_column: str | None = None,
    drop_columns: list[str] | None = None,
    feature_columns: list[str] | None = None,
    exclude_columns: list[str] | None = None,
    encoding: str | None = None,
) -> Dataset:
    """Read a features table. ``label_columns[0]`` is the primary label (default ``["label"]``)."""
    if path is None:
        raise MusiclustError("the table dataset needs a CSV path: pass --data-path FILE.csv")
    path = Path(path)
    if not path.is_file():
        raise MusiclustError(f"features table {path} does not exist: pass --data-path with an existing CSV file")
    df = read_table(path, encoding, what="features table")
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
    exclude = list(exclude_columns or []) + list(drop_columns or [])
    numeric, dropped = select_features(df, label_columns, id_column, feature_columns, exclude)
    for d in dropped:
        log.warning("feature column '%s' not used: %s", d["column"], d["reason"])
    if not numeric:
        raise MusiclustError(
            f"{path.name} has no usable numeric feature columns besides the labels (dropped: "
            f"{[d['column'] for d in dropped]})"
        )
    skipped = []
    keep = np.ones(len(df), bool)
    if id_column:
        dup, names = duplicate_keys(df[id_column])
        warn_duplicates(names, f"features table {path.name} (column '{id_column}')")
        for i in np.flatnonzero(dup.to_numpy()):
            skipped.append(
                {
                    "item": f"row {i + 2} ({df[id_column].iloc[i]})",
                    "reason": "duplicate key: an earlier row has the same id (the first row wins)",
                }
            )
        keep &= ~dup.to_numpy()
    features = df[numeric].astype(float)
    bad = ~np.isfinite(features.to_numpy()).all(axis=1) & keep
    if bad.any():
        for i in np.flatnonzero(bad):
            skipped.append({"item": f"row {i + 2}", "reason": "non-finite feature value"})
        log.warning("skipping %d row(s) with missing or non-finite features", int(bad.sum()))
    keep &= ~bad
    tracks = pd.DataFrame({"track_id": df[id_column].astype(str) if id_column else [f"row{i}" for i in range(len(df))]})
    for col in label_columns:
        tracks[col] = df[col].astype(str).replace({"nan": ""})
    tracks = tracks[keep].reset_index(drop=True)
    return Dataset(
        name="table",
        tracks=tracks,
        label_columns=label_columns,
        primary_label=label_columns[0],
        description=f"Features table {path.name}: {int(keep.sum())} rows x {len(numeric)} numeric features.",
        features=features[keep].reset_index(drop=True),
        skipped=skipped,
        info={"feature_selection": {"used": numeric, "dropped": dropped}},
    )
