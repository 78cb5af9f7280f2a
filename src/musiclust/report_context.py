"""What the report says, one function per section of the paper, from a finished run's own files.

`build_context` gathers the sections in the paper's order: front matter and abstract, Method (data, features,
representations, clustering, models), Experiments, Results (tables, findings, latent activity, key figures),
Discussion (the cluster cards read in words, and where representations fail), Limitations, Conclusion, Appendix. Each
section function takes the loaded `Run` and returns the template variables of its section, already formatted: no
Python repr reaches the text, and every number is printed with `fmt`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import MusiclustError
from .filenames import comparison_figure
from .representations import REPRESENTATIONS, is_model, split_name

METRICS_SHOWN = ("nmi", "ari", "acc", "purity")
NBSP = "\u00a0"
MAX_CLUSTERS_READ = 8  # the Discussion reads at most this many clusters of a method (the largest); the CSV has all
WEAK_NMI = 0.1  # below this, a label is "not found" by any method
MAX_FLOAT_ROWS = 32  # a main-text table longer than this stays in the flow, where it can break across pages
TIE_NMI = 0.01  # differences of mean NMI smaller than this are read as ties


def fmt(mean: float, std: float) -> str:
    """The one formatting of a mean ± std used in tables and text (and in the tests that compare with the CSV)."""
    if pd.isna(mean):
        return "n/a"
    return f"{mean:.3f} ± {std:.3f}"


# Markdown syntax characters, as pandoc reads them: an underscore only at a word's edge and an ampersand only before
# an entity name, since 'bach_chorale' and 'R&B' are read literally and stay readable in report.md
_MARKDOWN = re.compile(r"[\\`*\[\]<>$@~^|{}]|(?<![^\W_])_|_(?![^\W_])|&(?=#?\w+;)")


def md(text) -> str:
    """User text (a label or class name, a file name, a lyric word, a reason) as Markdown that pandoc reads back as
    the same characters: 'A$AP' would open a formula, '*NSYNC' emphasis, '@home' a citation that stops the PDF."""
    return _MARKDOWN.sub(lambda m: "\\" + m.group(0), str(text))


def md_message(text) -> str:
    """A message of this toolkit (a skip reason) as Markdown: its `...` spans, commands to run, stay code; the rest,
    which can quote user text (a path, a column name), is escaped with `md`."""
    parts = re.split(r"(`[^`]+`)", str(text))  # the spans are the odd parts
    return "".join(part if i % 2 else md(part) for i, part in enumerate(parts))


def code(text) -> str:
    """``text`` as an inline code span, fenced by more backticks than it holds in a row."""
    text = str(text)
    fence = "`" * (max((len(r) for r in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def unbreakable(text: str) -> str:
    """``mean ± std`` that a table cell never wraps."""
    return text.replace(" ± ", f"{NBSP}±{NBSP}")


def _list(items) -> str:
    items = [str(i) for i in items]
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _seconds(s: float) -> str:
    return f"{s:.0f} s" if s >= 10 else f"{s:.1f} s"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass
class Run:
    """A finished run folder, loaded once: ``config.json``, ``summary.csv`` (and its wide form), ``metrics.csv``,
    the cluster cards."""

    run_dir: Path
    info: dict
    summary: pd.DataFrame
    metrics: pd.DataFrame | None
    wide: pd.DataFrame = field(init=False)
    cards: list = field(default_factory=list)

    def __post_init__(self):
        from .evaluation import wide_summary

        self.wide = wide_summary(self.summary, self.labels)

    @property
    def res(self) -> dict:
        return self.info["resolved"]

    @property
    def cfg(self) -> dict:
        return self.info["config"]

    @property
    def labels(self) -> list[str]:
        return self.res["label_columns"]

    @property
    def primary(self) -> str:
        return self.res["primary_label"]

    @property
    def reps_run(self) -> list[str]:
        return self.res.get("representations_run") or list(dict.fromkeys(self.summary["representation"]))

    @property
    def k_by(self) -> dict:
        return self.res.get("k_by_label", {lab: self.res.get("k") for lab in self.labels})

    @property
    def figures(self) -> Path:
        return self.run_dir / "figures"

    def best(self, label: str):
        """The row of the wide summary with the highest mean NMI against ``label`` (None when nothing scored)."""
        col = f"nmi_{label}_mean"
        if col not in self.wide.columns or self.wide[col].notna().sum() == 0:
            return None
        return self.wide.loc[self.wide[col].idxmax()]


def load_run(run_dir: Path) -> Run:
    from .cards import read_cards

    if not (run_dir / "config.json").exists() or not (run_dir / "summary.csv").exists():
        raise MusiclustError(f"{run_dir} is not a finished run folder (no config.json/summary.csv)")
    info = json.loads((run_dir / "config.json").read_text())
    summary = pd.read_csv(run_dir / "summary.csv")
    metrics = pd.read_csv(run_dir / "metrics.csv") if (run_dir / "metrics.csv").exists() else None
    return Run(run_dir, info, summary, metrics, cards=read_cards(run_dir))


def paired_comparison(metrics: pd.DataFrame, label: str, a: tuple[str, str], b: tuple[str, str]) -> dict:
    """Per-seed paired difference of NMI against ``label`` between methods ``a`` and ``b`` (representation,
    clusterer), with a paired t-test where there are at least two seeds and the differences vary."""
    from scipy.stats import ttest_rel

    def per_seed(rep, clu):
        d = metrics[(metrics["target"] == label) & (metrics["representation"] == rep) & (metrics["clusterer"] == clu)]
        return d.set_index("seed")["nmi"]

    sa, sb = per_seed(*a), per_seed(*b)
    common = sa.index.intersection(sb.index)
    diff = (sa[common] - sb[common]).dropna()
    out = {
        "n": len(diff),
        "mean": float(diff.mean()) if len(diff) else float("nan"),
        "std": float(diff.std(ddof=0)) if len(diff) else float("nan"),
        "p": None,
    }
    if len(diff) >= 2 and diff.std() > 0:
        out["p"] = float(ttest_rel(sa[diff.index], sb[diff.index]).pvalue)
    if len(diff) < 2:
        out["verdict"] = "a single seed, so no significance test"
    elif out["p"] is None:
        out["verdict"] = "the same difference on every seed"
    else:
        sig = "significant" if out["p"] < 0.05 else "not significant"
        out["verdict"] = f"{sig} (paired t-test over {len(diff)} seeds, p = {out['p']:.2g})"
    return out


# --- front matter ------------------------------------------------------------------------------------------------
def front_matter(run: Run) -> dict:
    seeds = run.cfg["seeds"]
    return {
        "title": (
            f"What clusters in {md(run.info['dataset']['name'])}: {_list(map(md, run.labels))} under "
            "autoencoder-family latents"
        ),
        "run_id": run.info["run_id"],
        "n_tracks": run.res["n_tracks"],
        "dataset_name": md(run.info["dataset"]["name"]),
        "description": md(run.info["dataset"]["description"]),
        "n_reps": len(run.reps_run),
        "n_clusterers": len(run.cfg["clusterers"]),
        "n_seeds": len(seeds),
        "seeds_text": "seeds " + _list(seeds) if len(seeds) > 1 else f"seed {seeds[0]}",
        "labels_text": _list(map(code, run.labels)),
    }


# --- Method ------------------------------------------------------------------------------------------------------
def data_section(run: Run) -> dict:
    facts = [
        {
            "name": code(lab),
            "n_classes": run.res["classes"][lab],
            "k": run.k_by.get(lab),
            "counts": ", ".join(f"{md(a)} {b}" for a, b in run.res["class_counts"][lab].items()),
            "unlabelled": run.res.get("unlabelled", {}).get(lab, 0),
        }
        for lab in run.labels
    ]
    note = ""
    tracks_csv = run.run_dir / "tracks.csv"
    if "language" in run.labels and tracks_csv.exists():
        sources = pd.read_csv(tracks_csv, keep_default_na=False).get("language_source")
        if sources is not None and (sources == "detected").any():
            note = (
                f"Languages were detected offline from the lyrics (lingua) for "
                f"{int((sources == 'detected').sum())} tracks; the data named none."
            )
    return {"label_facts": facts, "language_note": note}


def features_section(run: Run) -> dict:
    res, cfg = run.res, run.cfg
    inp = res.get("inputs", {})
    text = f"Audio: {res['reference_space']}."
    if res.get("feature_set") == "lyrics":
        text = f"The feature matrix is the lyrics: {res['reference_space']}."
    elif "lyrics_dim" in inp:
        w = cfg.get("modality_weights", {})
        share = "equal shares" if len(set(w.values())) <= 1 else ", ".join(f"{k} {v:g}" for k, v in w.items())
        text += (
            f" Lyrics: word and character n-gram TF-IDF reduced by truncated SVD to {inp['lyrics_dim']} "
            f"dimensions ({inp.get('tracks_with_lyrics', 0)} tracks have lyrics); fused audio+lyrics vectors give "
            f"each modality a fixed share of the total variance ({share})."
        )
    musicnn_sets = [
        f
        for f in [res.get("feature_set", ""), *inp.get("alternative_features", {})]
        if any(part.startswith("musicnn") for part in str(f).split("+"))
    ]
    if musicnn_sets:
        text += (
            " musicnn [@pons2019]: the 200-D penultimate layer of a CNN pretrained to tag 3-s log-mel patches (16 kHz, "
            "96 mel bands) with the Million Song Dataset's 50 most frequent Last.fm tags (MagnaTagATune's for "
            "`musicnn_mtt`), averaged over a track's non-overlapping patches and standardized; weights from the "
            "`musicnn` 0.1.0 package (ISC licence), rebuilt in Keras 3. Representations named `<model>@musicnn` run "
            "on it; the others on the features above."
        )
    for name, reason in inp.get("unavailable_features", {}).items():
        text += f" The {name} representations were skipped: {md_message(reason)}."
    return {"features_text": text, "main_input": f"`{res.get('feature_set', 'the main features')}`"}


def method_section(run: Run) -> dict:
    from .clustering import CLUSTERERS

    cfg, res = run.cfg, run.res
    choice = res.get("k_choice", {})
    models = (
        f"Latent size {cfg['latent_dim']}, hidden layers {' x '.join(map(str, cfg['hidden']))}, "
        f"Adam with learning rate {cfg['learning_rate']:g}, batch {cfg['batch_size']}, at most "
        f"{cfg['epochs']} epochs with early stopping on a 10% validation split (patience "
        f"{cfg['patience']}, counted from the end of a {cfg['kl_warmup_epochs']}-epoch KL warm-up); "
        f"the ConvVAE trains {cfg.get('conv_epochs', cfg['epochs'])} epochs of 10 random 3-s crops "
        f"per clip. No setting was chosen by looking at the labels."
    )
    if res.get("mixture_prior"):
        models += f" VaDE: {res['mixture_prior']}."
    return {
        "reps": [{"name": r, "description": REPRESENTATIONS[r].description} for r in run.reps_run],
        "clusterers": [{"name": c, "description": CLUSTERERS[c].description} for c in cfg["clusterers"]],
        "k_text": (
            f"k: {_list([f'{k} for {md(lab)}' for lab, k in run.k_by.items()])} "
            f"({choice.get('chosen_by', 'each label: its number of classes')})."
        ),
        "models_text": models,
        "cards_text": (
            "Cluster cards (Discussion) describe each cluster of the best method of every label: its label mix, the "
            "musicnn tags whose mean probability in the cluster most exceeds the collection's, the lyric words of "
            "each language ranked by class-based TF-IDF [@grootendorst2022] with that language's Stopwords ISO list "
            "removed, and the tracks nearest the cluster's centre."
        ),
    }


# --- Experiments -------------------------------------------------------------------------------------------------
def experiments_section(run: Run) -> dict:
    timing = run.info.get("timing_s", {})
    total = timing.get("total_before_report")
    parts = [f"{k.replace('_', ' ')} {_seconds(v)}" for k, v in timing.items() if k != "total_before_report"]
    text = (f"{_seconds(total)} in all" if total else "") + (f" ({', '.join(parts)})" if parts else "")
    cached = run.info.get("resolved", {}).get("models_from_cache") or []
    if cached:
        # the run's own time then leaves their training out: say so, beside the number
        text += (
            f"; {len(cached)} trained models were taken from the model cache (trained by an earlier run on the same "
            f"inputs, with the same settings, seeds and code), so that time leaves out their training"
        )
    return {"timing_text": text}


# --- Results -----------------------------------------------------------------------------------------------------
def _cells(row, label, metrics) -> list[str]:
    return [fmt(row[f"{m}_{label}_mean"], row[f"{m}_{label}_std"]) for m in metrics]


def _input(row) -> str:
    return row.get("input") if isinstance(row.get("input"), str) else ""


def results_tables(run: Run) -> dict:
    """Per label: the best clusterer of each representation (main text) and every method (appendix)."""
    tables, full = [], []
    for lab in run.labels:
        col = f"nmi_{lab}_mean"
        if col not in run.wide.columns:
            continue
        best_rows = []
        for rep in run.reps_run:
            part = run.wide[run.wide["representation"] == rep].dropna(subset=[col])
            if len(part):
                best_rows.append(part.loc[part[col].idxmax()])
        table = pd.DataFrame(best_rows)
        rows = []
        for _, r in table.iterrows():
            c = _cells(r, lab, METRICS_SHOWN)
            for j, m in enumerate(METRICS_SHOWN):
                if r[f"{m}_{lab}_mean"] == table[f"{m}_{lab}_mean"].max():
                    c[j] = f"**{c[j]}**"
            rows.append({"representation": r["representation"], "clusterer": r["clusterer"], "cells": c})
        heatmap = f"figures/{comparison_figure(lab)}"
        tables.append(
            {
                "label": md(lab),
                "k": run.k_by.get(lab),
                "rows": [{**row, "cells": [unbreakable(x) for x in row["cells"]]} for row in rows],
                "heatmap": heatmap if (run.run_dir / heatmap).exists() else None,
            }
        )
        full.append(
            {
                "label": md(lab),
                "k": run.k_by.get(lab),
                "rows": [
                    {
                        "representation": r["representation"],
                        "input": _input(r),
                        "clusterer": r["clusterer"],
                        "cells": [unbreakable(x) for x in _cells(r, lab, (*METRICS_SHOWN, "silhouette"))],
                    }
                    for _, r in run.wide.iterrows()
                ],
            }
        )
    return {
        "tables": [t for t in tables if t["rows"]],
        "full_tables": full,
        "no_results": not any(t["rows"] for t in tables),
    }


def findings(run: Run) -> list[str]:
    """One sentence per label: its best method, and for the primary label the paired comparison with raw K-Means."""
    out = []
    primary, best = run.primary, run.best(run.primary)
    base = run.wide[(run.wide["representation"] == "raw") & (run.wide["clusterer"] == "kmeans")]
    if best is not None:
        b_nmi = fmt(best[f"nmi_{primary}_mean"], best[f"nmi_{primary}_std"])
        sentence = (
            f"Against {md(primary)}, the best method is {best['representation']} + {best['clusterer']} (NMI {b_nmi})"
        )
        is_base = best["representation"] == "raw" and best["clusterer"] == "kmeans"
        if len(base) and run.metrics is not None and not is_base:
            cmp = paired_comparison(
                run.metrics, primary, (best["representation"], best["clusterer"]), ("raw", "kmeans")
            )
            base_nmi = fmt(base.iloc[0][f"nmi_{primary}_mean"], base.iloc[0][f"nmi_{primary}_std"])
            sentence += (
                f", {cmp['mean']:+.3f} NMI over K-Means on the raw features ({base_nmi}; per-seed paired "
                f"difference {cmp['mean']:+.3f} ± {cmp['std']:.3f}, {cmp['verdict']})"
            )
        elif len(base):
            sentence += ", which is K-Means on the raw features itself: no learned representation beat it"
        out.append(sentence + ".")
    for lab in run.labels:
        other = run.best(lab)
        if lab == primary or other is None:
            continue
        s = (
            f"Against {md(lab)} (k = {run.k_by.get(lab)}), the best method is {other['representation']} + "
            f"{other['clusterer']} (NMI {fmt(other[f'nmi_{lab}_mean'], other[f'nmi_{lab}_std'])})"
        )
        if best is not None and f"nmi_{lab}_mean" in best:
            there = fmt(best[f"nmi_{lab}_mean"], best[f"nmi_{lab}_std"])
            s += f"; the best {md(primary)} method scores {there} against {md(lab)}"
        out.append(s + ".")
    return out


def abstract_and_findings(run: Run) -> dict:
    seeds = run.cfg["seeds"]
    opening = (
        f"We cluster {run.res['n_tracks']} tracks of {md(run.info['dataset']['name'])} with {len(run.reps_run)} "
        f"representations and {len(run.cfg['clusterers'])} clustering methods over {_plural(len(seeds), 'seed')}, "
        f"and judge each clustering against {_list(map(md, run.labels))}, each at its own number of classes."
    )
    found = findings(run)
    return {"abstract": " ".join([opening, *found]), "findings": " ".join(found)}


def latent_activity(run: Run) -> dict:
    """Per trained representation: its active latent units on each seed (histories.json), for the collapse check."""
    path = run.run_dir / "histories.json"
    by_rep: dict[str, list] = {}
    criteria: dict[str, str] = {}
    for key, h in (json.loads(path.read_text()) if path.exists() else {}).items():
        act = h.get("latent_activity") if isinstance(h, dict) else None
        if not act:
            continue
        rep = key.rsplit("_seed", 1)[0]
        by_rep.setdefault(rep, []).append(f"{act['active_units']}/{act['latent_dim']}")
        criteria[rep] = "KL" if "KL" in act["criterion"] else "variance"
    return {"activity": [{"name": r, "units": ", ".join(v), "criterion": criteria[r]} for r, v in by_rep.items()]}


def key_figures(run: Run) -> dict:
    """The main text's figures: the best representation's map and cluster contingency, the ConvVAE's reconstructions.
    Everything else goes to the appendix (the NMI heatmaps among them, printed at full width)."""
    key = []
    best = run.best(run.primary)
    if best is not None:
        rep = best["representation"]
        for path, caption in (
            (
                f"figures/latent_{rep}_umap.png",
                f"UMAP of the best representation ({rep}), coloured by its clusters and by each label.",
            ),
            (
                f"figures/distribution_{rep}.png",
                f"Contingency of {rep}'s clusters with each label, and the cluster sizes.",
            ),
        ):
            if (run.run_dir / path).exists():
                key.append({"caption": caption, "path": path, "width": "100%"})
    if (run.figures / "reconstruction_convvae.png").exists():
        key.append(
            {
                "caption": "ConvVAE: 3-s log-mel crops (top) and their reconstructions (bottom).",
                "path": "figures/reconstruction_convvae.png",
                "width": "85%",
            }
        )
    shown = {f["path"] for f in key}
    heatmaps = [
        {
            "caption": f"NMI against {md(lab)} for every representation and clusterer (mean over seeds; the std is in "
            f"the table above; the best cell outlined).",
            "path": f"figures/{comparison_figure(lab)}",
        }
        for lab in run.labels
        if (run.figures / comparison_figure(lab)).exists()
    ]
    shown |= {h["path"] for h in heatmaps}
    others = [
        {"caption": p.stem.replace("_", " "), "path": f"figures/{p.name}"}
        for p in (sorted(run.figures.glob("*.png")) if run.figures.exists() else [])
        if f"figures/{p.name}" not in shown
    ]
    return {"key_figures": key, "heatmaps": heatmaps, "appendix_figures": others}


# --- Discussion --------------------------------------------------------------------------------------------------
def _mix_text(mix: dict, n: int = 2) -> str:
    return ", ".join(f"{md(t['class'])} {t['share']:.0%}" for t in mix["top"][:n])


def read_cluster(card: dict) -> str:
    """One cluster in words: its size, label mix, distinctive tags and words -- only what its card holds."""
    parts = [f"cluster {card['cluster']} ({_plural(card['size'], 'track')})"]
    mixes = [f"{md(lab)} {_mix_text(mix)}" for lab, mix in card["labels"].items() if mix["top"]]
    if mixes:
        parts[0] += " is " + "; ".join(mixes)
    if card["tags"]:
        t = card["tags"]
        parts.append(
            f"musicnn hears *{t[0]['tag']}* ({t[0]['cluster']:.2f} against {t[0]['collection']:.2f} in the whole "
            f"collection)" + (f", then *{', '.join(x['tag'] for x in t[1:3])}*" if len(t) > 1 else "")
        )
    for lang, w in list(card["words"].items())[:2]:
        parts.append(f"its {md(lang)} lyrics stand out with *{', '.join(map(md, w['words'][:4]))}*")
    return "; ".join(parts)


def _purity_gain(cards: list[dict], label: str) -> tuple[float, float] | None:
    """``(purity of the clusters, share of the largest class)`` for ``label`` over the non-noise clusters."""
    real = [c for c in cards if not c["noise"] and label in c["labels"]]
    labelled = sum(sum(t["n"] for t in c["labels"][label]["top"]) + c["labels"][label]["other"] for c in real)
    if not labelled:
        return None
    purity = sum(c["labels"][label]["top"][0]["n"] for c in real if c["labels"][label]["top"]) / labelled
    totals: dict[str, int] = {}
    for c in real:  # class totals from the cards' top classes (exact when a cluster has at most 3 classes)
        for t in c["labels"][label]["top"]:
            totals[t["class"]] = totals.get(t["class"], 0) + t["n"]
    return purity, max(totals.values()) / labelled


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def read_method(run: Run, method: dict) -> str:
    """A paragraph on one method's clusters, from its cards."""
    real = sorted((c for c in method["cards"] if not c["noise"]), key=lambda c: -c["size"])
    noise = next((c for c in method["cards"] if c["noise"]), None)
    k_text = f"k = {method['k']}" if method.get("uses_k", True) else "k found by the clusterer"
    head = (
        f"**{method['representation']} + {method['clusterer']}** ({md(method['reason'])}; first seed, {k_text}) makes "
        f"{_plural(len(real), 'cluster')}."
    )
    body = [_sentence(read_cluster(c)) for c in real[:MAX_CLUSTERS_READ]]
    if len(real) > MAX_CLUSTERS_READ:
        body.append(f"The other {len(real) - MAX_CLUSTERS_READ} clusters are smaller.")
    if noise:
        body.append(f"{_plural(noise['size'], 'track')} are noise, in no cluster.")
    follows = []
    for lab in [c for c in (real[0]["labels"] if real else {})]:
        pg = _purity_gain(method["cards"], lab)
        if pg:
            shown = md(lab)
            follows.append(f"{shown} {pg[0]:.0%} (the largest {shown} class alone: {pg[1]:.0%})")
    if follows:
        body.append(f"Cluster purity: {'; '.join(follows)}.")
    tail = f"Every card, with three tracks nearest each centre, is in `clusters/{method['slug']}.csv`"
    tail += f"; a playlist of each cluster in `playlists/{method['slug']}/`." if method.get("playlists") else "."
    return " ".join([head, *body, tail])


def _raw_of(rep: str) -> str:
    """The raw-feature baseline on the same input as ``rep`` (``vae@musicnn`` -> ``raw@musicnn``)."""
    features = split_name(rep)[1]
    return f"raw@{features}" if features else "raw"


def failures(run: Run) -> list[str]:
    """Where representations and clusterers fail, with what the run itself shows about why."""
    out = []
    activity = {a["name"]: a for a in latent_activity(run)["activity"]}
    primary = run.primary
    col = f"nmi_{primary}_mean"
    if col in run.wide.columns:
        best_of = run.wide.dropna(subset=[col]).groupby("representation")[col].max()
        behind, ties = [], []
        for rep, v in best_of.items():
            base = _raw_of(rep)
            if not is_model(rep) or base not in best_of:
                continue
            if abs(v - best_of[base]) < TIE_NMI:
                ties.append(f"`{rep}`")
                continue
            if v > best_of[base]:
                continue
            why = ""
            act = activity.get(rep)
            if act:
                units = [tuple(map(int, u.split("/"))) for u in act["units"].split(", ")]
                if any(a < d / 2 for a, d in units):
                    why = f", with only {act['units']} latent units active (partial collapse)"
            if "condition" in REPRESENTATIONS[rep].requires:
                why = f", conditioned on {code(run.res.get('inputs', {}).get('condition', 'its condition'))} by design"
            behind.append(f"`{rep}` {v - best_of[base]:+.3f} against `{base}`{why}")
        n_models = sum(is_model(r) for r in best_of.index)
        said = []
        if behind:
            said.append(
                f"Against {md(primary)}, {len(behind)} of the {n_models} trained representations score more than "
                f"{TIE_NMI} NMI below clustering the raw features they started from (`raw`, or `raw@<set>` for a "
                f"`<model>@<set>`; best clusterer each, mean over seeds): {'; '.join(behind)}. A latent that "
                f"reconstructs its input well need not keep what separates {md(primary)}: the autoencoders are trained "
                f"to reconstruct, not to cluster."
            )
        if ties:
            said.append(
                f"{len(ties)} {'is' if len(ties) == 1 else 'are'} within {TIE_NMI} NMI of their raw features (a tie "
                f"at this precision, neither a gain nor a loss): {', '.join(ties)}."
            )
        if not behind and n_models:
            said.insert(
                0,
                f"Against {md(primary)}, no trained representation falls more than {TIE_NMI} NMI below its raw "
                "features.",
            )
        if said:
            out.append(" ".join(said))
    for lab in run.labels:
        col = f"nmi_{lab}_mean"
        if col not in run.wide.columns:
            continue
        best = run.best(lab)
        if best is not None and best[col] < WEAK_NMI:
            out.append(
                f"No method finds {md(lab)}: the best NMI is {best[col]:.3f} ({best['representation']} + "
                f"{best['clusterer']}), near chance."
            )
        with_lyrics = run.wide[run.wide["representation"].map(_uses_lyrics)].dropna(subset=[col])
        without = run.wide[~run.wide["representation"].map(_uses_lyrics)].dropna(subset=[col])
        if len(with_lyrics) and len(without):
            a, b = with_lyrics.loc[with_lyrics[col].idxmax()], without.loc[without[col].idxmax()]
            if abs(a[col] - b[col]) >= 0.1:
                source = "from the lyrics" if a[col] > b[col] else "from the audio alone"
                out.append(
                    f"Against {md(lab)}, representations that read the lyrics reach NMI {a[col]:.3f} "
                    f"(`{a['representation']}`) and audio-only ones {b[col]:.3f} (`{b['representation']}`): "
                    f"here {md(lab)} is found {source}."
                )
    first = run.labels[0]
    for clu in run.cfg["clusterers"]:
        part = run.summary[(run.summary["clusterer"] == clu) & (run.summary["target"] == first)]
        if len(part) and (part["n_seeds"] == 0).all():
            found = part["n_clusters_found_mean"].mean()
            noise = part["noise_fraction_mean"].mean()
            if noise >= 0.95:
                what = "its density threshold leaves (almost) every track as noise"
            elif found < 1.5:
                what = "its one density threshold joins the collection into a single cluster"
            else:
                what = "every clustering it found was degenerate"
            out.append(
                f"{clu} gave no valid clustering on any representation (on average {found:.1f} clusters found, "
                f"{noise:.0%} of the tracks noise): {what}."
            )
    return out


def _uses_lyrics(rep: str) -> bool:
    spec = REPRESENTATIONS.get(rep)
    return bool(spec) and "lyrics" in spec.requires


def discussion(run: Run) -> dict:
    return {
        "discussion_methods": [read_method(run, m) for m in run.cards],
        "discussion_failures": failures(run),
    }


# --- Limitations, Conclusion -------------------------------------------------------------------------------------
def limitations(run: Run) -> dict:
    lim = []
    res, cfg = run.res, run.cfg
    desc = run.info["dataset"]["description"]
    if "GTZAN" in desc or "features_30_sec" in desc:
        lim.append(
            "GTZAN has documented faults (repeated clips, mislabelings, artist concentration) that inflate or "
            "distort genre scores [@sturm2013]; the numbers are reported as measured."
        )
    if run.info["dataset"]["name"] == "corpus":
        lim.append(
            "The corpus is real compositions with a synthesized performance: one General MIDI program per "
            "ensemble, so timbre separates ensembles (choir, voices, strings, fiddle) rather than composers, "
            "and part of any style score is the renderer's instrumentation. The Monteverdi madrigals' lyric text "
            "in the music21 corpus files is OCR output split into syllables, kept as the scores hold it, so their "
            "lyric words are partly syllables."
        )
    for s in res.get("representations_skipped", []):
        lim.append(f"Not run: {md(s['item'].replace('representation ', ''))} ({md_message(s['reason'])}).")
    for s in res.get("labels_skipped", []):
        lim.append(f"Label {md(s['label'])} not evaluated: {md_message(s['reason'])}.")
    if len(cfg["seeds"]) < 3:
        lim.append(f"Only {_plural(len(cfg['seeds']), 'seed')}: the spread over seeds is not estimated well.")
    lim.append(
        "Labels are used only for scoring (and, for the CVAE, as its stated condition); a clustering that does "
        "not follow a label may still follow another real structure of the music."
    )
    if run.cards:
        lim.append(
            "The cluster cards describe the first seed's clustering; tags are musicnn's guesses, not labels, and "
            "the distinctive words of a small cluster rest on few songs."
        )
    return {"limitations": lim}


def conclusion(run: Run, found: str) -> dict:
    return {
        "conclusion": (found or "No method produced a valid clustering.")
        + " Whether a learned latent is worth its training time is the comparison with the raw features above, seed "
        "by seed."
    }


def build_context(run_dir: Path) -> dict:
    """Every fact the template prints, section by section."""
    run = load_run(Path(run_dir))
    ctx: dict = {}
    for section in (
        front_matter,
        abstract_and_findings,
        data_section,
        features_section,
        method_section,
        experiments_section,
        results_tables,
        latent_activity,
        key_figures,
        discussion,
        limitations,
    ):
        ctx.update(section(run))
    ctx.update(conclusion(run, ctx["findings"]))
    # main-text tables float (no half-empty page before one) when each fits a page; a float cannot break
    longest = max([len(t["rows"]) for t in ctx["tables"]] + [len(ctx["activity"])] + [0])
    ctx["float_tables"] = longest <= MAX_FLOAT_ROWS
    return ctx


__all__ = ["Run", "build_context", "code", "fmt", "load_run", "md", "md_message", "paired_comparison", "unbreakable"]
