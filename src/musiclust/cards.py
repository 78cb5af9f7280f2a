"""Cluster cards: what is in each cluster of a method, read from a finished run's own files.

For each cluster of one representation x clusterer (its first seed, at one label's k): its size; its mix of every label
(top classes with shares, and the language mix); its distinctive musicnn tags (mean tag probability in the cluster
against the whole collection); its distinctive lyric words by class-based TF-IDF per language (`features.words`); and
the three tracks nearest the cluster's centre in the representation's own space. Noise (-1) is shown as noise, never
as a cluster.

Files: ``clusters/<method>.json`` (everything) and ``clusters/<method>.csv`` (one row per cluster), where ``<method>``
is ``<representation>__<clusterer>`` at the primary label's k and ``<representation>__<clusterer>__k<k>`` at another
label's k; ``clusters/index.json`` lists the methods and why each has cards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from . import atomic
from .clustering import CLUSTERERS
from .errors import MusiclustError
from .evaluation import assignment_column, wide_summary
from .features.words import class_tfidf

N_TOP_CLASSES = 3
N_TAGS = 5
N_WORDS = 6
MIN_WORD_TRACKS = 2  # one song's words are not a cluster's words
N_REPRESENTATIVES = 3
MIN_TAG_LIFT = 0.01  # a tag "stands out" only when its mean probability in the cluster is this much above the whole
WORDS_FILE = "lyrics_words.npz"
TAGS_FILE = "musicnn_tags.csv"


@dataclass(frozen=True)
class Method:
    """One clustering to describe: ``k`` None means the primary label's k (or a clusterer that needs no k)."""

    representation: str
    clusterer: str
    k: int | None = None
    reason: str = "asked for"

    @property
    def slug(self) -> str:
        return f"{self.representation}__{self.clusterer}" + (f"__k{self.k}" if self.k is not None else "")

    @property
    def column(self) -> str:
        return assignment_column(self.representation, self.clusterer, self.k)


# --- the parts of a card (pure) --------------------------------------------------------------------------------------
def label_mix(values: pd.Series) -> dict:
    """``{"top": [{"class", "n", "share"}...], "other": n, "unlabelled": n}`` of one label within a cluster."""
    text = values.astype(str).str.strip()
    known = text[~text.isin(["", "nan", "None", "<NA>"])]
    counts = known.value_counts()
    top = [
        {"class": str(c), "n": int(n), "share": round(float(n) / len(known), 3)}
        for c, n in counts.head(N_TOP_CLASSES).items()
    ]
    return {"top": top, "other": int(counts.iloc[N_TOP_CLASSES:].sum()), "unlabelled": int(len(text) - len(known))}


def distinctive_tags(tags: pd.DataFrame, members: np.ndarray, n: int = N_TAGS) -> list[dict]:
    """Tags whose mean probability in the cluster most exceeds the collection's (by at least `MIN_TAG_LIFT`)."""
    inside, overall = tags[members].mean(axis=0), tags.mean(axis=0)
    lift = (inside - overall).sort_values(ascending=False)
    return [
        {"tag": t, "cluster": round(float(inside[t]), 3), "collection": round(float(overall[t]), 3)}
        for t in lift.index[:n]
        if lift[t] >= MIN_TAG_LIFT
    ]


def distinctive_words(
    counts: sparse.csr_matrix, vocab: list[str], languages: np.ndarray, clusters: np.ndarray, n: int = N_WORDS
) -> dict:
    """``{cluster: {language: {"words", "tracks"}}}`` for rows ``counts`` ``(n_rows, n_words)`` (a track's words in one
    language; ``languages`` and ``clusters`` per row): per language, c-TF-IDF over that language's rows with the
    clusters as classes (so a word is distinctive against the other clusters' songs in the same language); a language
    with fewer than `MIN_WORD_TRACKS` songs in a cluster is left out of its card."""
    out: dict = {}
    has_words = np.asarray(counts.sum(axis=1)).ravel() > 0
    for lang in pd.unique(languages[has_words]):
        rows = np.flatnonzero(has_words & (languages == lang))
        classes, weights = class_tfidf(counts[rows], clusters[rows])
        for c, w in zip(classes, weights):
            top = [vocab[j] for j in np.argsort(-w, kind="stable")[:n] if w[j] > 0]
            if top and (clusters[rows] == c).sum() >= MIN_WORD_TRACKS:
                out.setdefault(c, {})[str(lang)] = {"words": top, "tracks": int((clusters[rows] == c).sum())}
    return out


def representatives(Z: np.ndarray, members: np.ndarray, n: int = N_REPRESENTATIVES) -> np.ndarray:
    """Indices (into ``Z``) of the ``n`` members nearest the members' mean, nearest first."""
    idx = np.flatnonzero(members)
    d = np.linalg.norm(Z[idx] - Z[idx].mean(axis=0), axis=1)
    return idx[np.argsort(d, kind="stable")[:n]]


# --- reading a run ---------------------------------------------------------------------------------------------------
def best_methods(run_dir: Path) -> list[Method]:
    """The best method (highest mean NMI) against every label, each at that label's k."""
    info = json.loads((run_dir / "config.json").read_text())
    res = info["resolved"]
    labels, primary_k = res["label_columns"], res["k_by_label"][res["primary_label"]]
    wide = wide_summary(pd.read_csv(run_dir / "summary.csv"), labels)
    out: list[Method] = []
    for lab in labels:
        col = f"nmi_{lab}_mean"
        if col not in wide.columns or wide[col].notna().sum() == 0:
            continue
        best = wide.loc[wide[col].idxmax()]
        k = res["k_by_label"][lab]
        uses_k = CLUSTERERS[best["clusterer"]].uses_k if best["clusterer"] in CLUSTERERS else True
        method = Method(
            best["representation"],
            best["clusterer"],
            k if uses_k and k != primary_k else None,
            f"best against {lab} (NMI {best[col]:.3f}, k = {k if uses_k else 'found by the clusterer'})",
        )
        same = next((m for m in out if m.slug == method.slug), None)
        if same is None:
            out.append(method)
        else:
            out[out.index(same)] = Method(
                same.representation, same.clusterer, same.k, f"{same.reason}; {method.reason}"
            )
    return out


def requested(run_dir: Path, entries: list) -> list[Method]:
    """``[[rep, clusterer], [rep, clusterer, k], ...]`` (config ``cards``, ``--cards``) as methods of this run."""
    res = json.loads((run_dir / "config.json").read_text())["resolved"]
    primary_k = res["k_by_label"][res["primary_label"]]
    out = []
    for entry in entries:
        rep, clu, *rest = entry
        k = rest[0] if rest else None
        uses_k = CLUSTERERS[clu].uses_k if clu in CLUSTERERS else True
        if k is not None and k not in res["k_by_label"].values() and uses_k:
            known = sorted(set(res["k_by_label"].values()))
            raise MusiclustError(f"--cards {rep} {clu} {k}: this run clustered at k = {_ks(known)} only")
        out.append(Method(rep, clu, None if (k == primary_k or not uses_k) else k))
    return out


def _ks(values) -> str:
    return ", ".join(str(v) for v in values)


def _latent(run_dir: Path, representation: str, seed: int, n_tracks: int) -> np.ndarray:
    """The representation ``(n_tracks, d)`` of the first seed, NaN rows for tracks it does not cover."""
    with np.load(run_dir / "latents.npz") as lat:
        key = f"{representation}_seed{seed}"
        if key not in lat.files:
            raise MusiclustError(f"{run_dir} has no latent '{key}' in latents.npz")
        Z = lat[key]
        rows = lat[f"{key}_rows"] if f"{key}_rows" in lat.files else np.arange(len(Z))
    out = np.full((n_tracks, Z.shape[1]), np.nan)
    out[rows] = Z
    return out


def _recluster(method: Method, Z: np.ndarray, seed: int, info: dict) -> pd.Series:
    """A clustering clusters.csv does not hold (a k no label has, a run from before the per-k columns): computed again
    from the saved latent, with the first seed, exactly as the run clustered (`clustering.cluster`)."""
    from .clustering import cluster

    if method.clusterer not in CLUSTERERS:
        raise MusiclustError(f"unknown clusterer '{method.clusterer}'; choose from {sorted(CLUSTERERS)}")
    res = info["resolved"]
    k = method.k if method.k is not None else res["k_by_label"][res["primary_label"]]
    rows = np.flatnonzero(~np.isnan(Z).any(axis=1))
    out = pd.Series(pd.array([pd.NA] * len(Z), dtype="Int64"))
    out.iloc[rows] = cluster(method.clusterer, Z[rows], k, seed).labels
    return out


def _words(run_dir: Path):
    """``(counts, vocab, row_track, row_language)`` from ``lyrics_words.npz`` (a run of an earlier version holds one
    row per track), or None."""
    path = run_dir / WORDS_FILE
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as f:
        counts = sparse.csr_matrix((f["data"], f["indices"], f["indptr"]), shape=tuple(f["shape"]))
        row_track = f["row_track"] if "row_track" in f.files else np.arange(counts.shape[0])
        return counts, f["vocab"].tolist(), row_track, f["language"].astype(str)


def save_words(run_dir: Path, counts: sparse.csr_matrix, vocab: list[str], row_track, row_language) -> Path:
    """``lyrics_words.npz``: word counts (stop words removed) per track and language of its lines, not the text."""
    path = run_dir / WORDS_FILE
    with atomic.atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh,
            data=counts.data,
            indices=counts.indices,
            indptr=counts.indptr,
            shape=np.asarray(counts.shape),
            vocab=np.asarray(vocab, dtype=str),
            row_track=np.asarray(row_track, dtype=int),
            language=np.asarray([lang or "" for lang in row_language], dtype=str),
        )
    return path


def _track(tracks: pd.DataFrame, i: int) -> dict:
    row = tracks.iloc[i]
    return {
        "track_id": str(row["track_id"]),
        "title": str(row.get("title", "") or ""),
        # the corpus names composers, where a song collection names artists
        "artist": str(row.get("artist", "") or row.get("composer", "") or ""),
    }


def cluster_cards(run_dir: str | Path, method: Method) -> dict:
    """Every cluster's card for one method (see the module docstring); raises `MusiclustError` (one line)."""
    run_dir = Path(run_dir)
    info = json.loads((run_dir / "config.json").read_text())
    res = info["resolved"]
    tracks = pd.read_csv(run_dir / "tracks.csv", keep_default_na=False, dtype={"track_id": str})
    clusters = pd.read_csv(run_dir / "clusters.csv", dtype={"track_id": str})
    seed = info["config"]["seeds"][0]
    Z = _latent(run_dir, method.representation, seed, len(tracks))
    if method.column in clusters.columns:
        assigned = clusters[method.column]
    else:
        assigned = _recluster(method, Z, seed, info)
    covered = assigned.notna().to_numpy()
    labels_all = assigned.fillna(-2).astype(int).to_numpy()
    label_cols = list(res["label_columns"])
    if "language" in tracks.columns and "language" not in label_cols:
        label_cols.append("language")
    tags = None
    if (run_dir / TAGS_FILE).exists():
        t = pd.read_csv(run_dir / TAGS_FILE, dtype={"track_id": str}).set_index("track_id").loc[tracks["track_id"]]
        tags = t.rename(columns=lambda c: c.removeprefix("tag:")).reset_index(drop=True)
    words = _words(run_dir)
    word_cards = {}
    if words is not None:
        counts, vocab, row_track, row_language = words
        keep = covered[row_track]
        word_cards = distinctive_words(counts[keep], vocab, row_language[keep], labels_all[row_track[keep]])

    cards = []
    for c in sorted(set(labels_all[covered].tolist()), key=lambda v: (v < 0, v)):
        members = covered & (labels_all == c)
        card: dict = {
            "cluster": int(c),
            "noise": c == -1,
            "size": int(members.sum()),
            "share": round(float(members.sum()) / int(covered.sum()), 3),
            "labels": {lab: label_mix(tracks.loc[members, lab]) for lab in label_cols},
            "tags": distinctive_tags(tags, members) if tags is not None else [],
            "words": word_cards.get(c, {}),
        }
        card["representatives"] = (
            [] if c == -1 else [_track(tracks, i) for i in representatives(Z, members & ~np.isnan(Z).any(axis=1))]
        )
        cards.append(card)
    n_clusters = sum(not c["noise"] for c in cards)
    return {
        "representation": method.representation,
        "clusterer": method.clusterer,
        "k": method.k if method.k is not None else res["k_by_label"][res["primary_label"]],
        "uses_k": CLUSTERERS[method.clusterer].uses_k if method.clusterer in CLUSTERERS else True,
        "seed": seed,
        "column": method.column,
        "slug": method.slug,
        "reason": method.reason,
        "n_clusters": n_clusters,
        "n_tracks": int(covered.sum()),
        "has_tags": tags is not None,
        "has_words": words is not None,
        "cards": cards,
        "assigned": assigned,  # the cluster of every track (a Series; not written to the JSON)
    }


def _name(card: dict) -> str:
    return "noise" if card["noise"] else f"cluster {card['cluster']}"


def card_text(card: dict) -> str:
    """One cluster's card as plain text (the CSV's cells, the closing note, the Discussion)."""
    parts = [f"{_name(card)}: {card['size']} tracks"]
    for lab, mix in card["labels"].items():
        if mix["top"]:
            parts.append(f"{lab} " + ", ".join(f"{t['class']} {t['share']:.0%}" for t in mix["top"]))
    if card["tags"]:
        parts.append("tags " + ", ".join(t["tag"] for t in card["tags"]))
    for lang, w in card["words"].items():
        parts.append(f"words ({lang}) " + ", ".join(w["words"]))
    if card["representatives"]:
        parts.append("e.g. " + "; ".join(track_name(t) for t in card["representatives"]))
    return " | ".join(parts)


def track_name(t: dict) -> str:
    """``title — artist`` (the title alone, or the track id, when the data names less)."""

    def text(key):
        v = t.get(key)
        return v.strip() if isinstance(v, str) and v.strip().lower() not in ("", "nan") else ""

    title, artist = text("title"), text("artist") or text("composer")
    if title and artist:
        return f"{title} \u2014 {artist}"
    return title or str(t.get("track_id", ""))


def cards_table(result: dict) -> pd.DataFrame:
    """One row per cluster (noise last), flat columns, for ``clusters/<method>.csv``."""
    rows = []
    for card in result["cards"]:
        row = {"cluster": "noise" if card["noise"] else card["cluster"], "size": card["size"], "share": card["share"]}
        for lab, mix in card["labels"].items():
            row[lab] = "; ".join(f"{t['class']} {t['share']:.0%}" for t in mix["top"])
        row["tags"] = "; ".join(f"{t['tag']} ({t['cluster']:.2f} vs {t['collection']:.2f})" for t in card["tags"])
        row["words"] = " / ".join(f"{lang}: {', '.join(w['words'])}" for lang, w in card["words"].items())
        row["representatives"] = "; ".join(track_name(t) for t in card["representatives"])
        rows.append(row)
    return pd.DataFrame(rows)


def write_cards(run_dir: str | Path, methods: list[Method] | None = None) -> list[dict]:
    """Cards of the best method of every label, and of ``methods``; writes ``clusters/`` and returns the results."""
    run_dir = Path(run_dir)
    wanted = best_methods(run_dir)
    # methods asked for earlier keep their cards when the report is rebuilt
    earlier = [Method(m["representation"], m["clusterer"], m["k"], m["reason"]) for m in _index(run_dir)]
    for m in [*earlier, *(methods or [])]:
        if all(m.slug != w.slug for w in wanted):
            wanted.append(m)
    out_dir = run_dir / "clusters"
    out_dir.mkdir(exist_ok=True)
    results = [cluster_cards(run_dir, m) for m in wanted]
    for r in results:
        save_method(run_dir, r)
        atomic.write_csv(out_dir / f"{r['slug']}.csv", cards_table(r))
    index = [
        {"slug": m.slug, "representation": m.representation, "clusterer": m.clusterer, "k": m.k, "reason": m.reason}
        for m in wanted
    ]
    atomic.write_text(out_dir / "index.json", json.dumps(index, indent=1, ensure_ascii=False))
    return results


def save_method(run_dir: Path, result: dict) -> Path:
    """``clusters/<slug>.json`` (every field but the per-track assignment)."""
    path = Path(run_dir) / "clusters" / f"{result['slug']}.json"
    atomic.write_text(
        path, json.dumps({k: v for k, v in result.items() if k != "assigned"}, indent=1, ensure_ascii=False)
    )
    return path


def _index(run_dir: Path) -> list[dict]:
    path = run_dir / "clusters" / "index.json"
    return json.loads(path.read_text()) if path.exists() else []


def read_cards(run_dir: str | Path) -> list[dict]:
    """The cards a run has (``clusters/index.json`` order); empty when it has none."""
    run_dir = Path(run_dir)
    return [json.loads((run_dir / "clusters" / f"{m['slug']}.json").read_text()) for m in _index(run_dir)]


__all__ = [
    "Method",
    "best_methods",
    "card_text",
    "cards_table",
    "cluster_cards",
    "distinctive_tags",
    "distinctive_words",
    "label_mix",
    "read_cards",
    "representatives",
    "save_words",
    "track_name",
    "write_cards",
]
