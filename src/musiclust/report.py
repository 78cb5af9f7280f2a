"""A NeurIPS-style report (Markdown and LaTeX, PDF when a LaTeX engine is installed) from a finished run's own files.

Every number in the report is read from the run's ``summary.csv``/``config.json`` and printed with the same rounding
(`fmt`), so the report can be rebuilt at any time (``run_experiments.py --report-only RUN``) and checked against the
CSV. Sections follow the NeurIPS layout: Abstract, Introduction, Related Work, Method, Experiments, Results,
Discussion, Conclusion, References.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd

from .errors import MusiclustError
from .representations import REPRESENTATIONS

REFERENCES = [
    ("kingma2014", "D. P. Kingma and M. Welling. Auto-encoding variational Bayes. ICLR, 2014."),
    ("higgins2017", "I. Higgins et al. beta-VAE: Learning basic visual concepts with a constrained variational "
                    "framework. ICLR, 2017."),
    ("sohn2015", "K. Sohn, H. Lee and X. Yan. Learning structured output representation using deep conditional "
                 "generative models. NeurIPS, 2015."),
    ("jiang2017", "Z. Jiang et al. Variational deep embedding: an unsupervised and generative approach to "
                  "clustering. IJCAI, 2017."),
    ("wu2018", "M. Wu and N. Goodman. Multimodal generative models for scalable weakly-supervised learning. "
               "NeurIPS, 2018."),
    ("tzanetakis2002", "G. Tzanetakis and P. Cook. Musical genre classification of audio signals. IEEE TSAP, 2002."),
    ("sturm2013", "B. L. Sturm. The GTZAN dataset: its contents, its faults, their effects on evaluation, and its "
                  "future use. arXiv:1306.1461, 2013."),
    ("mcinnes2018", "L. McInnes, J. Healy and J. Melville. UMAP: Uniform manifold approximation and projection. "
                    "arXiv:1802.03426, 2018."),
    ("vandermaaten2008", "L. van der Maaten and G. Hinton. Visualizing data using t-SNE. JMLR, 2008."),
    ("cuthbert2010", "M. S. Cuthbert and C. Ariza. music21: a toolkit for computer-aided musicology and symbolic "
                     "music data. ISMIR, 2010."),
    ("ester1996", "M. Ester et al. A density-based algorithm for discovering clusters in large spatial databases "
                  "with noise. KDD, 1996."),
    ("campello2013", "R. Campello, D. Moulavi and J. Sander. Density-based clustering based on hierarchical density "
                     "estimates. PAKDD, 2013."),
]


def fmt(mean: float, std: float) -> str:
    """The one formatting of a mean ± std used in tables and text (and in the tests that compare with the CSV)."""
    if pd.isna(mean):
        return "n/a"
    return f"{mean:.3f} ± {std:.3f}"


def _load(run_dir: Path):
    if not (run_dir / "config.json").exists() or not (run_dir / "summary.csv").exists():
        raise MusiclustError(f"{run_dir} is not a finished run folder (no config.json/summary.csv)")
    from .evaluation import wide_summary

    info = json.loads((run_dir / "config.json").read_text())
    summary = wide_summary(pd.read_csv(run_dir / "summary.csv"), info["resolved"]["label_columns"])
    return info, summary


def _facts(info: dict, summary: pd.DataFrame) -> dict:
    res = info["resolved"]
    primary, labels = res["primary_label"], res["label_columns"]
    col = f"nmi_{primary}_mean"
    ranked = summary.dropna(subset=[col]).sort_values(col, ascending=False)
    best = ranked.iloc[0] if len(ranked) else None
    base = summary[(summary["representation"] == "raw") & (summary["clusterer"] == "kmeans")]
    facts = {"primary": primary, "labels": labels, "best": best, "baseline": base.iloc[0] if len(base) else None,
             "ranked": ranked}
    others = [c for c in labels if c != primary]
    facts["other"] = others[0] if others else None
    return facts


def _discussion(info: dict, summary: pd.DataFrame, facts: dict) -> list[str]:
    primary, other, best = facts["primary"], facts["other"], facts["best"]
    paras = []
    n_classes = info["resolved"]["classes"][primary]
    if best is not None:
        paras.append(
            f"The best method by mean NMI against {primary} is {best['representation']} + {best['clusterer']} "
            f"(NMI {fmt(best[f'nmi_{primary}_mean'], best[f'nmi_{primary}_std'])}, "
            f"ACC {fmt(best[f'acc_{primary}_mean'], best[f'acc_{primary}_std'])}; chance ACC is about "
            f"{1 / n_classes:.3f} for {n_classes} balanced classes).")
    base = facts["baseline"]
    if base is not None and best is not None:
        delta = best[f"nmi_{primary}_mean"] - base[f"nmi_{primary}_mean"]
        verdict = "improves on" if delta > 0.01 else ("matches" if abs(delta) <= 0.01 else "falls short of")
        paras.append(f"It {verdict} K-Means on the standardized features themselves "
                     f"(NMI {fmt(base[f'nmi_{primary}_mean'], base[f'nmi_{primary}_std'])}), the baseline any "
                     f"learned representation has to beat.")
    if other and best is not None:
        col = f"nmi_{other}_mean"
        top_other = summary.dropna(subset=[col]).sort_values(col, ascending=False).iloc[0]
        paras.append(
            f"Against {other}, the same best method scores NMI {fmt(best[col], best[f'nmi_{other}_std'])}; the "
            f"method that aligns best with {other} is {top_other['representation']} + {top_other['clusterer']} "
            f"(NMI {fmt(top_other[col], top_other[f'nmi_{other}_std'])}). Where a clustering scores higher against "
            f"{primary} than against {other}, the clusters capture musical style more than language; note that "
            f"{other} and {primary} are correlated in this data, so neither score alone isolates one factor.")
    if info["dataset"]["name"] == "corpus":
        paras.append("The corpus is synthesized from scores with one General MIDI program per ensemble, so timbre "
                     "separates ensembles (choir, voices, strings, fiddle) rather than composers; part of any style "
                     "score is the renderer's instrumentation, not the music alone.")
    desc = info["dataset"]["description"]
    if "GTZAN" in desc or "features_30_sec" in desc:
        paras.append("GTZAN has documented faults (repeated clips, mislabelings, artist concentration; Sturm 2013) "
                     "that can inflate or distort genre scores; the numbers are reported as measured.")
    return paras


def build_markdown(run_dir: Path) -> str:
    info, summary = _load(run_dir)
    facts = _facts(info, summary)
    res, cfg = info["resolved"], info["config"]
    primary, labels = facts["primary"], facts["labels"]
    reps = res.get("representations_run", sorted(set(summary["representation"])))
    best = facts["best"]
    L = []
    title = f"Clustering {info['dataset']['name']} with (variational) autoencoders"
    L += [f"# {title}", "", f"*musiclust run `{info['run_id']}`*", "", "## Abstract", ""]
    ks = ", ".join(f"k = {k} for {lab}" for lab, k in res["k_by_label"].items())
    abstract = (f"We cluster {res['n_tracks']} tracks ({ks}) with {len(reps)} representations "
                f"(raw features, PCA, lyrics and autoencoder-family latents) and {len(cfg['clusterers'])} clustering "
                f"methods over {len(cfg['seeds'])} seeds, and evaluate against {', '.join(labels)}.")
    if best is not None:
        abstract += (f" The best method, {best['representation']} + {best['clusterer']}, reaches NMI "
                     f"{fmt(best[f'nmi_{primary}_mean'], best[f'nmi_{primary}_std'])} against {primary}.")
    L += [abstract, "", "## Introduction", "",
          "Music collections mix languages and styles; a useful clustering should say which of the two it found. "
          "We compare learned latent spaces with direct feature clustering under identical clusterers, seeds and "
          "metrics, and report every label column so that style and language alignment can be told apart.", "",
          "## Related Work", "",
          "Variational autoencoders [kingma2014] and their disentangling variant beta-VAE [higgins2017]; conditional "
          "VAEs [sohn2015]; clustering with a Gaussian-mixture prior, VaDE [jiang2017]; multimodal VAEs with a "
          "product of experts [wu2018]. Genre clustering on GTZAN [tzanetakis2002] must account for its faults "
          "[sturm2013]. We visualize latents with t-SNE [vandermaaten2008] and UMAP [mcinnes2018].", "",
          "## Method", "",
          f"**Features.** {res['reference_space']}; feature set `{res['feature_set']}`."]
    inp = res.get("inputs", {})
    if "lyrics_dim" in inp:
        L.append(f"Lyrics: word and character n-gram TF-IDF reduced by truncated SVD to {inp['lyrics_dim']} "
                 f"dimensions and L2-normalized ({inp.get('tracks_with_lyrics', '?')} tracks have lyrics); the fused "
                 f"audio+lyrics vector gives each modality a fixed share of the total variance "
                 f"({cfg['modality_weights']}).")
    L += ["", "**Representations.**", ""]
    L += [f"- `{r}`: {REPRESENTATIONS[r].description}" for r in reps]
    for s in res.get("representations_skipped", []):
        L.append(f"- {s['item']}: skipped ({s['reason']})")
    for s in res.get("labels_skipped", []):
        L.append(f"- label `{s['label']}`: not evaluated ({s['reason']})")
    L += ["", f"**Clustering.** {', '.join(cfg['clusterers'])}; {ks} ({res['k_choice']['chosen_by']}).",
          "DBSCAN's eps is the knee of the k-distance curve [ester1996]; HDBSCAN [campello2013] needs no k; noise "
          "points count as one extra group in external metrics and are left out of internal ones.", "",
          "**Metrics.** Against every label: ARI, NMI, purity and clustering accuracy with Hungarian matching. "
          "Internal: Silhouette, Calinski-Harabasz, Davies-Bouldin, in each representation's own space and in the "
          "common reference space (suffix `_ref`), so that representations can be compared fairly.", "",
          f"**Models.** Latent size {cfg['latent_dim']}, hidden layers {cfg['hidden']}, Adam {cfg['learning_rate']}, "
          f"batch {cfg['batch_size']}, at most {cfg['epochs']} epochs with early stopping on a 10% validation split "
          f"(patience {cfg['patience']}, counted from the end of the KL warm-up of {cfg['kl_warmup_epochs']} "
          f"epochs). No hyperparameter was chosen "
          f"by looking at the labels.", "",
          "## Experiments", "", f"**Data.** {info['dataset']['description']}", ""]
    for col in labels:
        counts = ", ".join(f"{a} {b}" for a, b in res["class_counts"][col].items())
        blank = res.get("unlabelled", {}).get(col, 0)
        L.append(f"- `{col}` ({res['classes'][col]} classes): {counts}"
                 + (f"; {blank} tracks without a label, left out of its metrics" if blank else ""))
    L += ["", f"Seeds: {cfg['seeds']}. Timing (s): {info['timing_s']}.", "", "## Results", "",
          f"Mean ± std over seeds, against **{primary}**:", "",
          "| representation | clusterer | NMI | ARI | ACC | purity |" + "".join(
              f" NMI ({c}) |" for c in labels if c != primary),
          "|---|---|---|---|---|---|" + "---|" * (len(labels) - 1)]
    for _, r in summary.iterrows():
        cells = [fmt(r[f"{m}_{primary}_mean"], r[f"{m}_{primary}_std"]) for m in ("nmi", "ari", "acc", "purity")]
        cells += [fmt(r[f"nmi_{c}_mean"], r[f"nmi_{c}_std"]) for c in labels if c != primary]
        L.append(f"| {r['representation']} | {r['clusterer']} | " + " | ".join(cells) + " |")
    L += ["", f"Internal metrics (own space / reference space) of the clusterings judged against {primary}:", "",
          "| representation | clusterer | Silhouette | Silhouette (ref) | Davies-Bouldin | Davies-Bouldin (ref) "
          "| noise fraction |", "|---|---|---|---|---|---|---|"]
    for _, r in summary.iterrows():
        cells = [fmt(r[f"{m}_{primary}_mean"], r[f"{m}_{primary}_std"])
                 for m in ("silhouette", "silhouette_ref", "davies_bouldin", "davies_bouldin_ref", "noise_fraction")]
        L.append(f"| {r['representation']} | {r['clusterer']} | " + " | ".join(cells) + " |")
    figs = sorted(p.name for p in (run_dir / "figures").glob("*.png")) if (run_dir / "figures").exists() else []
    if figs:
        L += ["", "### Figures", ""]
        for name in figs:
            L += [f"![{name}](figures/{name})", ""]
    L += ["## Discussion", ""] + [p + "\n" for p in _discussion(info, summary, facts)]
    L += ["## Conclusion", "",
          "The tables above are the full comparison; the discussion states what the best clustering aligns with. "
          "All numbers come from this run's `summary.csv` and can be regenerated with "
          f"`python run_experiments.py --report-only {run_dir}`.", "", "## References", ""]
    L += [f"- [{key}] {text}" for key, text in REFERENCES]
    return "\n".join(L) + "\n"


_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
                "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "±": r"$\pm$"}


def tex_escape(text: str) -> str:
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in str(text))


def markdown_to_latex(md: str) -> str:
    """A small converter for the Markdown this module writes (headings, lists, tables, figures, bold, code)."""
    import re

    out = [r"\documentclass[10pt]{article}",
           r"% NeurIPS page geometry (5.5in x 9in text block); use neurips_20XX.sty instead when you have it.",
           r"\usepackage[textwidth=5.5in,textheight=9in]{geometry}",
           r"\usepackage[T1]{fontenc}", r"\usepackage[utf8]{inputenc}", r"\usepackage{graphicx}",
           r"\usepackage{booktabs}", r"\usepackage{longtable}", r"\usepackage{hyperref}", r"\begin{document}"]
    lines = md.splitlines()
    i = 0
    in_list = False

    def inline(s: str) -> str:
        s = tex_escape(s)
        s = re.sub(r"\*\*(.+?)\*\*", r"\\textbf{\1}", s)
        s = re.sub(r"\*(.+?)\*", r"\\emph{\1}", s)
        s = re.sub(r"`(.+?)`", r"\\texttt{\1}", s)
        return re.sub(r"\[([a-z]+\d{4})\]", r"\\cite{\1}", s)

    while i < len(lines):
        line = lines[i]
        if line.startswith("# "):
            out += [r"\title{" + inline(line[2:]) + "}", r"\date{}", r"\maketitle"]
        elif line.startswith("## Abstract"):
            i += 2
            out += [r"\begin{abstract}", inline(lines[i]), r"\end{abstract}"]
        elif line.startswith("## References"):
            out.append(r"\begin{thebibliography}{99}")
            for key, text in REFERENCES:
                out.append(r"\bibitem{" + key + "} " + tex_escape(text))
            out.append(r"\end{thebibliography}")
            break
        elif line.startswith("## "):
            out.append(r"\section{" + inline(line[3:]) + "}")
        elif line.startswith("### "):
            out.append(r"\subsection*{" + inline(line[4:]) + "}")
        elif line.startswith("| ") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            header = [c.strip() for c in line.strip("|").split("|")]
            out += [r"{\scriptsize", r"\begin{longtable}{" + "l" * len(header) + "}", r"\toprule",
                    " & ".join(inline(h) for h in header) + r" \\", r"\midrule"]
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                out.append(" & ".join(inline(c.strip()) for c in lines[i].strip("|").split("|")) + r" \\")
                i += 1
            out += [r"\bottomrule", r"\end{longtable}}"]
            continue
        elif line.startswith("!["):
            m = re.match(r"!\[(.*?)\]\((.*?)\)", line)
            out += [r"\begin{figure}[h]\centering", r"\includegraphics[width=\linewidth]{" + m.group(2) + "}",
                    r"\caption{\texttt{" + tex_escape(m.group(1)) + "}}", r"\end{figure}"]
        elif line.startswith("- "):
            if not in_list:
                out.append(r"\begin{itemize}")
                in_list = True
            out.append(r"\item " + inline(line[2:]))
            i += 1
            if i >= len(lines) or not lines[i].startswith("- "):
                out.append(r"\end{itemize}")
                in_list = False
            continue
        elif line.strip():
            out.append(inline(line))
        else:
            out.append("")
        i += 1
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


def latex_engine() -> str | None:
    for engine in ("tectonic", "latexmk", "pdflatex", "xelatex", "lualatex"):
        if shutil.which(engine):
            return engine
    return None


def write_report(run_dir: str | Path) -> dict[str, Path]:
    """Write ``report.md`` and ``report.tex`` (and ``report.pdf`` when a LaTeX engine is installed)."""
    run_dir = Path(run_dir)
    md = build_markdown(run_dir)
    paths = {"md": run_dir / "report.md", "tex": run_dir / "report.tex"}
    paths["md"].write_text(md)
    paths["tex"].write_text(markdown_to_latex(md))
    engine = latex_engine()
    if engine:
        cmd = {"tectonic": ["tectonic", "report.tex"], "latexmk": ["latexmk", "-pdf", "-quiet", "report.tex"]}.get(
            engine, [engine, "-interaction=nonstopmode", "report.tex"])
        try:
            subprocess.run(cmd, cwd=run_dir, capture_output=True, timeout=300, check=False)
            if engine not in ("tectonic", "latexmk"):  # a second pass resolves references
                subprocess.run(cmd, cwd=run_dir, capture_output=True, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if (run_dir / "report.pdf").exists():
            paths["pdf"] = run_dir / "report.pdf"
    return paths
