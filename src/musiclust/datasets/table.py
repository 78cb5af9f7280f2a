"""A features table: a CSV/TSV with numeric feature columns plus named label columns.

Kaggle's GTZAN ``features_30_sec.csv`` is one (id column ``filename``, label column ``label``, 57 features plus
``length``). Only columns that are features are used. By default that is every numeric column except:

- id-like columns (``id``, ``*_id``, ``index``, ``Unnamed: *``): row numbers and keys carry no musical content;
- constant columns (nothing to cluster on);
- label leaks: any single column from which a decision tree with one leaf per class (one value range per class)
  recovers a label column with >= 99% accuracy, or
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
from .tabular import duplicate_keys, exact_duplicate_rows, is_blank_label, read_table, unique_ids

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
    # one value range per class: a tree on this column alone with as many leaves as the label has classes (a single
    # threshold for two classes; three for four, as a class-numbered column has)
    n_classes = len(np.unique(y))
    tree = DecisionTreeClassifier(max_leaf_nodes=max(2, n_classes), random_state=0).fit(x.reshape(-1, 1), y)
    acc = float(tree.score(x.reshape(-1, 1), y))
    if acc >= LEAK_ACCURACY:
        cuts = "one threshold" if n_classes == 2 else f"{n_classes - 1} thresholds (one value range per class)"
        return f"label leak: {cuts} on it recover '{label_name}' with {acc:.1%} accuracy"
    if len(np.unique(x)) <= len(np.unique(y)):
        majority = pd.DataFrame({"x": x, "y": y}).groupby("x")["y"].agg(lambda s: s.value_counts().iloc[0]).sum()
        acc = majority / len(y)
        if acc >= LEAK_ACCURACY:
            return f"label leak: its values name the '{label_name}' class for {acc:.1%} of the rows"
    return None


NUMERIC_SHARE = 0.5  # a text column whose cells are more than half numbers is a numeric column with gaps


def numeric_text_columns(df: pd.DataFrame, reserved: set) -> tuple[pd.DataFrame, list[str]]:
    """Text columns that are numbers with a few stray cells (``n/a``, ``NaN``, ``-``) or with decimal commas
    (``120,5`` in a ``;``-separated table), as numbers; the stray cells become missing (their rows are then skipped
    with a reason, never the whole column). Returns the table and one note per column changed."""
    df = df.copy()
    notes = []
    for c in df.columns:
        if c in reserved or pd.api.types.is_numeric_dtype(df[c]):
            continue
        text = df[c].astype(str).str.strip()
        filled = text[text != ""]
        if len(filled) < 2:
            continue
        plain = pd.to_numeric(filled, errors="coerce")
        comma = pd.to_numeric(filled.str.replace(",", ".", regex=False), errors="coerce")
        if plain.notna().mean() > NUMERIC_SHARE:
            stray = sorted(set(filled[plain.isna()]))
            df[c] = pd.to_numeric(text, errors="coerce")
            shown = ", ".join(map(repr, stray[:3]))
            notes.append(
                f"column '{c}': {int(plain.isna().sum())} cell(s) that are not numbers ({shown}) read as missing; "
                f"their rows are skipped"
            )
        elif comma.notna().mean() > NUMERIC_SHARE and filled.str.contains(",", regex=False).any():
            df[c] = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
            notes.append(f"column '{c}': decimal commas read as decimal points")
    return df, notes


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
    df, notes = numeric_text_columns(df, set(label_columns) | {id_column})
    for note in notes:
        log.warning("features table %s: %s", path.name, note)
    numeric, dropped = select_features(df, label_columns, id_column, feature_columns, exclude)
    for d in dropped:
        log.warning("feature column '%s' not used: %s", d["column"], d["reason"])
    if not numeric:
        raise MusiclustError(
            f"{path.name} has no usable numeric feature columns besides the labels (dropped: "
            f"{[d['column'] for d in dropped]})"
        )
    skipped = []
    # only a row equal in every column to an earlier one is dropped: a repeated id is no reason to lose a track
    exact = exact_duplicate_rows(df).to_numpy()
    for i in np.flatnonzero(exact):
        skipped.append({"item": f"row {i + 2}", "reason": "exact duplicate: every cell equals an earlier row's"})
    keep = ~exact
    repeated = []
    if id_column:
        _, repeated = duplicate_keys(df[id_column][keep])
        if repeated:
            log.warning(
                "features table %s: %d id(s) name several different rows (%s); each row is kept, later ones as "
                "<id>#<row>",
                path.name,
                len(repeated),
                ", ".join(repeated[:3]),
            )
    features = df[numeric].astype(float)
    bad = ~np.isfinite(features.to_numpy()).all(axis=1) & keep
    if bad.any():
        for i in np.flatnonzero(bad):
            skipped.append({"item": f"row {i + 2}", "reason": "non-finite feature value"})
        log.warning("skipping %d row(s) with missing or non-finite features", int(bad.sum()))
    keep &= ~bad
    ids = unique_ids(df[id_column]) if id_column else pd.Series([f"row{i}" for i in range(len(df))])
    tracks = pd.DataFrame({"track_id": ids.to_numpy()})
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
        info={
            "feature_selection": {"used": numeric, "dropped": dropped, "notes": notes},
            "repeated_ids": repeated,
        },
    )
