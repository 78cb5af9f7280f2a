"""A paper from a finished run's own files: Markdown (Jinja2 template) -> pandoc -> LaTeX for Overleaf and Typst -> PDF.

Every number is read from the run's ``summary.csv``/``metrics.csv``/``config.json`` and printed with one rounding
(`fmt`), so the report can be rebuilt at any time (``run_experiments.py --report-only RUN``) and checked against the
CSV. Which library does what: Jinja2 fills ``templates/report.md.j2``; pandoc (shipped by ``pypandoc-binary``) turns
that one Markdown source into ``report/report.tex`` (NeurIPS layout: ``neurips_2024.sty`` when the user puts it beside
the file, a geometry fallback otherwise; natbib with ``references.bib``) and into Typst; the ``typst`` package compiles
``report.pdf`` in-process, with no TeX installation.

Files: ``report.md`` (the source), ``report.pdf``, and ``report/`` (``report.tex``, ``references.bib``, ``figures/``)
which can be zipped and uploaded to Overleaf as it is.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pandas as pd

from .errors import MusiclustError
from .representations import REPRESENTATIONS

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"

# LaTeX preamble: the NeurIPS style when the user has put it beside report.tex, the NeurIPS text block otherwise.
NEURIPS_HEADER = r"""\IfFileExists{neurips_2024.sty}{\usepackage[preprint]{neurips_2024}}{%
  \usepackage[letterpaper,textwidth=5.5in,textheight=9in,top=1in]{geometry}}"""


def fmt(mean: float, std: float) -> str:
    """The one formatting of a mean ± std used in tables and text (and in the tests that compare with the CSV)."""
    if pd.isna(mean):
        return "n/a"
    return f"{mean:.3f} ± {std:.3f}"


def _load(run_dir: Path):
    if not (run_dir / "config.json").exists() or not (run_dir / "summary.csv").exists():
        raise MusiclustError(f"{run_dir} is not a finished run folder (no config.json/summary.csv)")
    info = json.loads((run_dir / "config.json").read_text())
    summary = pd.read_csv(run_dir / "summary.csv")
    metrics = pd.read_csv(run_dir / "metrics.csv") if (run_dir / "metrics.csv").exists() else None
    return info, summary, metrics


def _list(items: list[str]) -> str:
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _seconds(s: float) -> str:
    return f"{s:.0f} s" if s >= 10 else f"{s:.1f} s"


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


def _latent_activity_rows(run_dir: Path) -> list[dict]:
    """Per trained representation: its active latent units on each seed (histories.json), for the collapse check."""
    path = run_dir / "histories.json"
    if not path.exists():
        return []
    by_rep: dict[str, list] = {}
    criteria: dict[str, str] = {}
    for key, h in json.loads(path.read_text()).items():
        act = h.get("latent_activity") if isinstance(h, dict) else None
        if not act:
            continue
        rep = key.rsplit("_seed", 1)[0]
        by_rep.setdefault(rep, []).append(f"{act['active_units']}/{act['latent_dim']}")
        criteria[rep] = "KL" if "KL" in act["criterion"] else "variance"
    return [{"name": rep, "units": ", ".join(v), "criterion": criteria[rep]} for rep, v in by_rep.items()]


def build_context(run_dir: Path) -> dict:
    """Every fact the template prints, already formatted (no Python reprs reach the text)."""
    from .clustering import CLUSTERERS
    from .evaluation import wide_summary

    info, summary, metrics = _load(run_dir)
    res, cfg = info["resolved"], info["config"]
    labels = res["label_columns"]
    primary = res["primary_label"]
    wide = wide_summary(summary, labels)
    reps_run = res.get("representations_run") or list(dict.fromkeys(summary["representation"]))
    k_by = res.get("k_by_label", {lab: res.get("k") for lab in labels})
    ctx: dict = {
        "run_id": info["run_id"],
        "n_tracks": res["n_tracks"],
        "dataset_name": info["dataset"]["name"],
        "description": info["dataset"]["description"],
        "n_reps": len(reps_run),
        "n_clusterers": len(cfg["clusterers"]),
        "n_seeds": len(cfg["seeds"]),
        "seeds_text": "seeds " + _list(cfg["seeds"]) if len(cfg["seeds"]) > 1 else f"seed {cfg['seeds'][0]}",
        "labels_text": _list([f"`{lab}`" for lab in labels]),
    }
    ctx["title"] = f"What clusters in {info['dataset']['name']}: {_list(labels)} under autoencoder-family latents"

    ctx["label_facts"] = [
        {
            "name": lab,
            "n_classes": res["classes"][lab],
            "k": k_by.get(lab),
            "counts": ", ".join(f"{a} {b}" for a, b in res["class_counts"][lab].items()),
            "unlabelled": res.get("unlabelled", {}).get(lab, 0),
        }
        for lab in labels
    ]
    ctx["language_note"] = ""
    tracks_csv = run_dir / "tracks.csv"
    if "language" in labels and tracks_csv.exists():
        sources = pd.read_csv(tracks_csv, keep_default_na=False).get("language_source")
        if sources is not None and (sources == "detected").any():
            ctx["language_note"] = (
                f"Languages were detected offline from the lyrics (lingua) for "
                f"{int((sources == 'detected').sum())} tracks; the data named none."
            )
    inp = res.get("inputs", {})
    feat = f"Audio: {res['reference_space']}."
    if res.get("feature_set") == "lyrics":
        feat = f"The feature matrix is the lyrics: {res['reference_space']}."
    elif "lyrics_dim" in inp:
        w = cfg.get("modality_weights", {})
        share = "equal shares" if len(set(w.values())) <= 1 else ", ".join(f"{k} {v:g}" for k, v in w.items())
        feat += (
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
        feat += (
            " musicnn [@pons2019]: the 200-D penultimate layer of a CNN pretrained to tag 3-s log-mel patches (16 kHz, "
            "96 mel bands) with the Million Song Dataset's 50 most frequent Last.fm tags (MagnaTagATune's for "
            "`musicnn_mtt`), averaged over a track's non-overlapping patches and standardized; weights from the "
            "`musicnn` 0.1.0 package (ISC licence), rebuilt in Keras 3. Representations named `<model>@musicnn` run "
            "on it; the others on the features above."
        )
    for name, reason in inp.get("unavailable_features", {}).items():
        feat += f" The {name} representations were skipped: {reason}."
    ctx["features_text"] = feat
    ctx["main_input"] = f"`{res.get('feature_set', 'the main features')}`"
    ctx["activity"] = _latent_activity_rows(run_dir)
    ctx["reps"] = [{"name": r, "description": REPRESENTATIONS[r].description} for r in reps_run]
    ctx["clusterers"] = [{"name": c, "description": CLUSTERERS[c].description} for c in cfg["clusterers"]]
    choice = res.get("k_choice", {})
    ctx["k_text"] = (
        f"k: {_list([f'{k} for {lab}' for lab, k in k_by.items()])} "
        f"({choice.get('chosen_by', 'each label: its number of classes')})."
    )
    ctx["models_text"] = (
        f"Latent size {cfg['latent_dim']}, hidden layers {' x '.join(map(str, cfg['hidden']))}, "
        f"Adam with learning rate {cfg['learning_rate']:g}, batch {cfg['batch_size']}, at most "
        f"{cfg['epochs']} epochs with early stopping on a 10% validation split (patience "
        f"{cfg['patience']}, counted from the end of a {cfg['kl_warmup_epochs']}-epoch KL warm-up); "
        f"the ConvVAE trains {cfg.get('conv_epochs', cfg['epochs'])} epochs of 10 random 3-s crops "
        f"per clip. No setting was chosen by looking at the labels."
    )
    if res.get("mixture_prior"):
        ctx["models_text"] += f" VaDE: {res['mixture_prior']}."
    timing = info.get("timing_s", {})
    total = timing.get("total_before_report")
    parts = [f"{k.replace('_', ' ')} {_seconds(v)}" for k, v in timing.items() if k != "total_before_report"]
    ctx["timing_text"] = (f"{_seconds(total)} in all" if total else "") + (f" ({', '.join(parts)})" if parts else "")

    def cells(r, lab, ms):
        return [fmt(r[f"{m}_{lab}_mean"], r[f"{m}_{lab}_std"]) for m in ms]

    figures = run_dir / "figures"
    ctx["tables"], ctx["full_tables"] = [], []
    best_by_label = {}
    for lab in labels:
        col = f"nmi_{lab}_mean"
        if col not in wide.columns:
            continue
        best_rows = []
        for rep in reps_run:
            part = wide[(wide["representation"] == rep)].dropna(subset=[col])
            if len(part):
                best_rows.append(part.loc[part[col].idxmax()])
        table = pd.DataFrame(best_rows)
        metrics_order = ("nmi", "ari", "acc", "purity")
        rows = []
        for _, r in table.iterrows():
            c = cells(r, lab, metrics_order)
            for j, m in enumerate(metrics_order):
                if r[f"{m}_{lab}_mean"] == table[f"{m}_{lab}_mean"].max():
                    c[j] = f"**{c[j]}**"
            # no line break inside "mean ± std": the main table's number columns are narrow
            c = [x.replace(" ± ", "\u00a0±\u00a0") for x in c]
            rows.append(
                {
                    "representation": r["representation"],
                    "input": r.get("input") if isinstance(r.get("input"), str) else "",
                    "clusterer": r["clusterer"],
                    "cells": c,
                }
            )
        ctx["tables"].append(
            {
                "label": lab,
                "k": k_by.get(lab),
                "rows": rows,
                "heatmap": f"figures/comparison_{lab}.png" if (figures / f"comparison_{lab}.png").exists() else None,
            }
        )
        ranked = wide.dropna(subset=[col]).sort_values(col, ascending=False)
        best_by_label[lab] = ranked.iloc[0] if len(ranked) else None
        ctx["full_tables"].append(
            {
                "label": lab,
                "k": k_by.get(lab),
                "rows": [
                    {
                        "representation": r["representation"],
                        "input": r.get("input") if isinstance(r.get("input"), str) else "",
                        "clusterer": r["clusterer"],
                        "cells": cells(r, lab, (*metrics_order, "silhouette")),
                    }
                    for _, r in wide.iterrows()
                ],
            }
        )

    best = best_by_label.get(primary)
    base = wide[(wide["representation"] == "raw") & (wide["clusterer"] == "kmeans")]
    abstract, findings = [], []
    abstract.append(
        f"We cluster {res['n_tracks']} tracks of {info['dataset']['name']} with {len(reps_run)} "
        f"representations and {len(cfg['clusterers'])} clustering methods over {len(cfg['seeds'])} "
        f"seed{'s' if len(cfg['seeds']) != 1 else ''}, and judge each clustering against "
        f"{_list(labels)}, each at its own number of classes."
    )
    if best is not None:
        b_nmi = fmt(best[f"nmi_{primary}_mean"], best[f"nmi_{primary}_std"])
        sentence = f"Against {primary}, the best method is {best['representation']} + {best['clusterer']} (NMI {b_nmi})"
        if (
            len(base)
            and metrics is not None
            and not (best["representation"] == "raw" and best["clusterer"] == "kmeans")
        ):
            cmp = paired_comparison(metrics, primary, (best["representation"], best["clusterer"]), ("raw", "kmeans"))
            base_nmi = fmt(base.iloc[0][f"nmi_{primary}_mean"], base.iloc[0][f"nmi_{primary}_std"])
            sentence += (
                f", {cmp['mean']:+.3f} NMI over K-Means on the raw features ({base_nmi}; per-seed paired "
                f"difference {cmp['mean']:+.3f} ± {cmp['std']:.3f}, {cmp['verdict']})"
            )
        elif len(base):
            sentence += ", which is K-Means on the raw features itself: no learned representation beat it"
        abstract.append(sentence + ".")
        findings.append(abstract[-1])
    for lab in labels:
        if lab == primary or best_by_label.get(lab) is None:
            continue
        other = best_by_label[lab]
        s = (
            f"Against {lab} (k = {k_by.get(lab)}), the best method is {other['representation']} + "
            f"{other['clusterer']} (NMI {fmt(other[f'nmi_{lab}_mean'], other[f'nmi_{lab}_std'])})"
        )
        if best is not None and f"nmi_{lab}_mean" in best:
            s += (
                f"; the best {primary} method scores {fmt(best[f'nmi_{lab}_mean'], best[f'nmi_{lab}_std'])} "
                f"against {lab}"
            )
        abstract.append(s + ".")
        findings.append(abstract[-1])
    ctx["abstract"] = " ".join(abstract)
    ctx["findings"] = " ".join(findings)

    key = []
    if best is not None:
        rep = best["representation"]
        if (figures / f"latent_{rep}_umap.png").exists():
            key.append(
                {
                    "caption": f"UMAP of the best representation ({rep}), coloured by its clusters and by each label.",
                    "path": f"figures/latent_{rep}_umap.png",
                    "width": "100%",
                }
            )
        if (figures / f"distribution_{rep}.png").exists():
            key.append(
                {
                    "caption": f"Contingency of {rep}'s clusters with each label, and the cluster sizes.",
                    "path": f"figures/distribution_{rep}.png",
                    "width": "100%",
                }
            )
    if (figures / "reconstruction_convvae.png").exists():
        key.append(
            {
                "caption": "ConvVAE: 3-s log-mel crops (top) and their reconstructions (bottom).",
                "path": "figures/reconstruction_convvae.png",
                "width": "90%",
            }
        )
    ctx["key_figures"] = key
    shown = {f["path"] for f in key} | {t["heatmap"] for t in ctx["tables"]}
    ctx["appendix_figures"] = (
        [
            {"caption": p.stem.replace("_", " "), "path": f"figures/{p.name}"}
            for p in sorted(figures.glob("*.png"))
            if f"figures/{p.name}" not in shown
        ]
        if figures.exists()
        else []
    )

    lim = []
    desc = info["dataset"]["description"]
    if "GTZAN" in desc or "features_30_sec" in desc:
        lim.append(
            "GTZAN has documented faults (repeated clips, mislabelings, artist concentration) that inflate or "
            "distort genre scores [@sturm2013]; the numbers are reported as measured."
        )
    if info["dataset"]["name"] == "corpus":
        lim.append(
            "The corpus is real compositions with a synthesized performance: one General MIDI program per "
            "ensemble, so timbre separates ensembles (choir, voices, strings, fiddle) rather than composers, "
            "and part of any style score is the renderer's instrumentation."
        )
    for s in res.get("representations_skipped", []):
        lim.append(f"Not run: {s['item'].replace('representation ', '')} ({s['reason']}).")
    for s in res.get("labels_skipped", []):
        lim.append(f"Label {s['label']} not evaluated: {s['reason']}.")
    if len(cfg["seeds"]) < 3:
        lim.append(
            f"Only {len(cfg['seeds'])} seed{'s' if len(cfg['seeds']) != 1 else ''}: the spread over seeds is "
            f"not estimated well."
        )
    lim.append(
        "Labels are used only for scoring (and, for the CVAE, as its stated condition); a clustering that does "
        "not follow a label may still follow another real structure of the music."
    )
    ctx["limitations"] = lim
    ctx["conclusion"] = (ctx["findings"] or "No method produced a valid clustering.") + (
        " Whether a learned latent is worth its training time is the comparison with the raw features above, seed by "
        "seed."
    )
    return ctx


def build_markdown(run_dir: str | Path) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    return env.get_template("report.md.j2").render(**build_context(Path(run_dir)))


def _pandoc(md: str, to: str, extra: list[str]) -> str:
    import pypandoc

    return pypandoc.convert_text(md, to, format="markdown", extra_args=extra)


def write_report(run_dir: str | Path) -> dict[str, Path]:
    """Write ``report.md``, ``report/`` (``report.tex``, ``references.bib``, ``figures/``) and ``report.pdf``."""
    run_dir = Path(run_dir)
    md = build_markdown(run_dir)
    paths = {"md": run_dir / "report.md"}
    paths["md"].write_text(md)
    out = run_dir / "report"
    if out.exists():
        shutil.rmtree(out)
    (out / "figures").mkdir(parents=True)
    for png in sorted((run_dir / "figures").glob("*.png")) if (run_dir / "figures").exists() else []:
        shutil.copyfile(png, out / "figures" / png.name)
    shutil.copyfile(TEMPLATES / "references.bib", out / "references.bib")
    try:
        tex = _pandoc(
            md,
            "latex",
            [
                "--standalone",
                "--natbib",
                "--number-sections",
                "--columns=200",
                "-V",
                "documentclass=article",
                "-V",
                "fontsize=10pt",
                "-V",
                f"header-includes={NEURIPS_HEADER}",
                "-V",
                "colorlinks=true",
            ],
        )
        paths["tex"] = out / "report.tex"
        # BibTeX adds the extension itself (Overleaf's default pdfLaTeX + BibTeX build)
        paths["tex"].write_text(tex.replace(r"\bibliography{references.bib}", r"\bibliography{references}"))
        typ = _pandoc(
            md,
            "typst",
            [
                "--standalone",
                "--columns=200",
                "-V",
                "papersize=us-letter",
                "-V",
                "fontsize=10pt",
                "-V",
                "section-numbering=1.1",
                # a table longer than a page continues on the next one (a figure is unbreakable by default, and
                # Typst then printed the rest of the rows on top of each other at the bottom of the page)
                "-V",
                "header-includes=#show figure.where(kind: table): set block(breakable: true)",
            ],
        )
        (out / "report.typ").write_text(typ)
    except (OSError, RuntimeError) as exc:  # pandoc missing or failing must not cost the run its results
        log.warning("report.tex/report.pdf not written: pandoc failed: %s", str(exc).splitlines()[0])
        return paths
    try:
        import typst

        typst.compile(str(out / "report.typ"), output=str(run_dir / "report.pdf"), root=str(out))
        paths["pdf"] = run_dir / "report.pdf"
    except Exception as exc:  # noqa: BLE001 - a typesetting failure is reported, the run's results stay
        log.warning("report.pdf not written: typst failed: %s", str(exc).splitlines()[0] if str(exc) else exc)
    return paths


__all__ = ["build_context", "build_markdown", "fmt", "paired_comparison", "write_report"]
