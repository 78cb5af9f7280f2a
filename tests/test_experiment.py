"""End-to-end runs through the command-line entry point: every promised output, honest cells, one-line errors."""

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from cli_runs import run_cli
from conftest import REPO

from musiclust.cli import run_experiments_main
from musiclust.report import fmt
from musiclust.report_context import unbreakable

MFCC_MODELS = ["ae", "vae", "beta_vae", "cvae", "convvae", "multimodal", "gmmvae", "dec", "idec"]
MUSICNN_MODELS = [f"{m}@musicnn" for m in ("ae", "vae", "beta_vae", "cvae", "multimodal", "gmmvae", "dec", "idec")]
MODELS = MFCC_MODELS + MUSICNN_MODELS
# the VAE family on MFCC and on musicnn, with the raw and PCA baselines of each input
ALL_REPS = [
    "raw",
    "pca",
    "lyrics",
    "audio_lyrics",
    *MFCC_MODELS,
    "raw@musicnn",
    "pca@musicnn",
    "audio_lyrics@musicnn",
    *MUSICNN_MODELS,
]


def _run(args, capsys):
    return run_cli(args + ["--no-progress", "--no-cache"], capsys)


@pytest.fixture(scope="module")
def quick_run(small_corpus, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("results")
    code = run_experiments_main(
        [
            "--data-path",
            str(small_corpus),
            "--output-dir",
            str(out_dir),
            "--quick",
            "--no-progress",
            "--no-cache",
            "--epochs",
            "5",
        ]
    )
    assert code == 0
    run_dir = next(p for p in out_dir.iterdir() if p.is_dir() and p.name.startswith("corpus-"))
    return out_dir, run_dir


def test_quick_run_writes_every_promised_file(quick_run):
    out_dir, run_dir = quick_run
    info = json.loads((run_dir / "config.json").read_text())
    # the small corpus has lyrics, audio and language; the order is the config's
    assert sorted(info["resolved"]["representations_run"]) == sorted(ALL_REPS)
    assert info["versions"]["tensorflow"] and info["config"]["seeds"] == [0] and info["config"]["quick"]
    for name in [
        "config.json",
        "metrics.csv",
        "summary.csv",
        "latents.npz",
        "tracks.csv",
        "skipped.csv",
        "histories.json",
        "feature_notes.csv",
        "report.md",
        "report.pdf",
        "report/report.tex",
        "clusters.csv",
        "embeddings_2d.npz",
        "explorer.html",
        "musicnn_tags.csv",
    ]:
        assert (run_dir / name).is_file(), name
    for model in MODELS:
        assert (run_dir / "models" / f"{model}_seed0.keras").is_file()
    figs = {p.name for p in (run_dir / "figures").glob("*.png")}
    expected = {f"latent_{r}_{m}.png" for r in ALL_REPS for m in ("tsne", "umap")}
    expected |= {f"distribution_{r}.png" for r in ALL_REPS}
    # DEC refines its encoder without the decoder: no reconstruction to show
    expected |= {f"reconstruction_{m}.png" for m in MODELS if not m.startswith("dec")}
    expected |= {"training_curves.png", "traversal_beta_vae.png", "traversal_beta_vae@musicnn.png"}
    expected |= {"comparison_style.png", "comparison_language.png"}
    assert expected <= figs, expected - figs
    assert (out_dir / "clustering_metrics.csv").is_file()
    shared = {p.name for p in (out_dir / "latent_visualization").glob(f"{run_dir.name}_*.png")}
    assert len(shared) == 2 * len(ALL_REPS)
    latents = np.load(run_dir / "latents.npz")
    assert latents["vae_seed0"].shape == (12, 16) and len(latents["track_id"]) == 12
    assert latents["raw@musicnn_seed0"].shape == (12, 200)


def test_every_row_names_its_input_and_no_model_collapses(quick_run):
    _, run_dir = quick_run
    metrics = pd.read_csv(run_dir / "metrics.csv")
    inputs = metrics.groupby("representation")["input"].first()
    assert inputs["vae"] == "mfcc" and inputs["vae@musicnn"] == "musicnn" and inputs["lyrics"] == "lyrics"
    assert inputs["multimodal@musicnn"] == "musicnn+lyrics" and inputs["convvae"] == "log-mel crops"
    tags = pd.read_csv(run_dir / "musicnn_tags.csv")
    assert tags.shape == (12, 51) and tags.filter(like="tag:").to_numpy().max() <= 1.0
    histories = json.loads((run_dir / "histories.json").read_text())
    for model in MODELS:
        act = histories[f"{model}_seed0"]["latent_activity"]
        assert act["active_units"] >= 1, (model, act)  # none of the family collapses to its prior
    report = (run_dir / "report.md").read_text()
    assert "Latent activity" in report and "`vae@musicnn`" in report and "[@pons2019]" in report


def test_every_metric_cell_is_a_number_or_nan_with_a_reason(quick_run):
    _, run_dir = quick_run
    m = pd.read_csv(run_dir / "metrics.csv", keep_default_na=False, na_values=[""])
    assert set(m["clusterer"]) == {
        "kmeans",
        "agglomerative",
        "dbscan",
        "gmm",
        "hdbscan",
        "umap_kmeans",
        "umap_gmm",
        "umap_hdbscan",
    }
    metric_cols = [c for c in m.columns if re.match(r"(silhouette|calinski|davies|ari|nmi|purity|acc)", c)]
    assert len(metric_cols) == 6 + 4
    # each label judged at its own number of classes: style has 4 in the small corpus, language 3 (de, it, none)
    km = m[(m["clusterer"] == "kmeans") & (m["representation"] == "raw")]
    assert dict(zip(km["target"], km["k"])) == {"style": 4, "language": 3}
    assert m[m["clusterer"] == "dbscan"]["k"].isna().all()  # DBSCAN takes no k
    for _, row in m.iterrows():
        for c in metric_cols:
            v = row[c]
            assert isinstance(v, float)
            if np.isnan(v):
                assert isinstance(row["note"], str) and row["note"], (row["representation"], row["clusterer"], c)
    # on 12 points DBSCAN's min_samples exceeds every neighbourhood: all noise, recorded, not a crash
    db = m[(m["clusterer"] == "dbscan") & (m["representation"] == "raw")].iloc[0]
    assert db["noise_fraction"] == 1.0 and np.isnan(db["nmi"]) and "all points are noise" in db["note"]
    cvae = m[(m["representation"] == "cvae") & (m["clusterer"] == "kmeans") & (m["target"] == "language")].iloc[0]
    assert "conditioned on 'language'" in cvae["note"] and "not a fair test" in cvae["note"]
    assert cvae["note"].count("conditioned on 'language'") == 1  # said once, in full
    cvae_style = m[(m["representation"] == "cvae") & (m["clusterer"] == "kmeans") & (m["target"] == "style")]
    assert "not a fair test" not in cvae_style.iloc[0]["note"]
    vade = m[(m["representation"] == "gmmvae")].iloc[0]
    assert "mixture prior with 4 components" in vade["note"]  # the primary label's k, and it says so
    lyr = m[m["representation"] == "lyrics"].iloc[0]
    with_text = pd.read_csv(run_dir / "tracks.csv")["has_lyrics"].sum()
    assert lyr["n_tracks"] == with_text >= 3 and "lyrics only" in lyr["note"]  # madrigals + chorales with text


def test_report_numbers_equal_the_csv_and_report_only_rebuilds_it(quick_run, capsys):
    _, run_dir = quick_run
    report = (run_dir / "report.md").read_text()
    sections = [
        "abstract:",
        "# Introduction",
        "# Related Work",
        "# Method",
        "# Experiments",
        "# Results",
        "# Discussion",
        "## Limitations",
        "# Conclusion",
        "#bibliography(",  # the references, before the appendix
        "# Appendix",
    ]
    at = [report.find("\n" + s) if s.startswith("#") else report.find(s) for s in sections]
    assert -1 not in at and at == sorted(at), dict(zip(sections, at))  # every section, in the NeurIPS order
    summary = pd.read_csv(run_dir / "summary.csv")
    table = [ln for ln in report.splitlines() if ln.startswith("| ") and " | " in ln]
    for _, r in summary[summary["target"] == "style"].iterrows():
        expected = f"| `{r['representation']}` | {r['input']} | {r['clusterer']} | " + " | ".join(
            unbreakable(fmt(r[f"{m}_mean"], r[f"{m}_std"])) for m in ("nmi", "ari", "acc", "purity")
        )
        assert any(ln.startswith(expected) for ln in table), expected
    assert "{'" not in report and "': " not in report  # no Python reprs in the prose
    info = json.loads((run_dir / "config.json").read_text())
    (run_dir / "report.md").unlink()
    code = run_experiments_main(["--report-only", str(run_dir)])
    assert code == 0 and (run_dir / "report.md").read_text() == report
    assert info["resolved"]["representations_run"]


def test_report_tex_for_overleaf_and_a_typeset_pdf(quick_run):
    from pypdf import PdfReader

    _, run_dir = quick_run
    info = json.loads((run_dir / "config.json").read_text())
    tex = (run_dir / "report" / "report.tex").read_text()
    ordered = (
        r"\begin{abstract}",
        r"\section{Introduction}",
        r"\section{Related Work}",
        r"\section{Method}",
        r"\section{Experiments}",
        r"\section{Results}",
        r"\section{Discussion}",
        r"\subsection{Limitations}",
        r"\section{Conclusion}",
        r"\bibliography{references}",
        r"\appendix",
    )
    at = [tex.find(part) for part in ordered]
    assert -1 not in at and at == sorted(at), dict(zip(ordered, at))
    assert tex.count(r"\bibliographystyle") == 1  # BibTeX stops at a second one
    for part in ("neurips_2024.sty", "geometry"):
        assert part in tex, part
    first_table = tex.split(r"\begin{longtable}")[1].split(r"\end{longtable}")[0]
    rows = [ln for ln in first_table.splitlines() if "&" in ln and "±" in ln]
    names = [r.split("&")[0].strip().replace("\\_", "_").removeprefix("\\texttt{").removesuffix("}") for r in rows]
    assert sorted(names) == sorted(info["resolved"]["representations_run"])  # one row per representation that ran
    assert (run_dir / "report" / "references.bib").is_file()
    figs = {p.name for p in (run_dir / "report" / "figures").glob("*.png")}
    assert "comparison_style.png" in figs and all(f"figures/{f}" in tex for f in ("comparison_style.png",))
    reader = PdfReader(str(run_dir / "report.pdf"))
    pages = [p.extract_text() for p in reader.pages]
    appendix_page = next(i for i, t in enumerate(pages) if "Appendix: full results" in t)
    assert appendix_page <= 8  # at most 8 pages of main text before the appendix
    summary = pd.read_csv(run_dir / "summary.csv")
    best = summary[summary["target"] == "style"].sort_values("nmi_mean", ascending=False).iloc[0]
    main_text = " ".join(pages[:appendix_page])
    assert f"{best['representation']} + {best['clusterer']}" in main_text
    assert fmt(best["nmi_mean"], best["nmi_std"]) in main_text


def test_the_pdf_reads_as_a_paper(quick_run):
    """What a reader sees in report.pdf: the sections in order, every appendix row once, no line printed over
    another, and a Discussion that reads the cluster cards."""
    from pdf_layout import overprinted, text_runs
    from pypdf import PdfReader

    _, run_dir = quick_run
    reader = PdfReader(str(run_dir / "report.pdf"))
    # typeset text: non-breaking spaces and typographic minus signs read as the CSV writes them
    pages = [p.extract_text().replace("\u00a0", " ").replace("\u2212", "-") for p in reader.pages]
    lines = [ln.strip() for page in pages for ln in page.splitlines()]
    heads = ["Introduction", "Related Work", "Method", "Experiments", "Results", "Discussion", "Limitations"]
    heads += ["Conclusion"]
    at = [next(i for i, ln in enumerate(lines) if re.fullmatch(rf"\d+(\.\d+)? {h}", ln)) for h in heads]
    at.append(lines.index("References"))
    at.append(next(i for i, ln in enumerate(lines) if re.fullmatch(r"\d+ Appendix: full results", ln)))
    assert at == sorted(at), dict(zip([*heads, "References", "Appendix"], at))

    # every row of every appendix table exactly once, each on one line of text (no cell wrapped)
    summary = pd.read_csv(run_dir / "summary.csv")
    text = "\n".join(pages)
    appendix = text[text.index("Appendix: full results") :]
    labels = json.loads((run_dir / "config.json").read_text())["resolved"]["label_columns"]
    starts = [appendix.index(f"All methods against {lab} (mean") for lab in labels]
    for j, lab in enumerate(labels):
        part = appendix[starts[j] : starts[j + 1] if j + 1 < len(starts) else len(appendix)]
        part_lines = [ln.strip() for ln in part.splitlines()]
        for _, r in summary[summary["target"] == lab].iterrows():
            cells = [fmt(r[f"{m}_mean"], r[f"{m}_std"]) for m in ("nmi", "ari", "acc", "purity", "silhouette")]
            row = " ".join([r["representation"], r["input"], r["clusterer"], *cells])
            assert part_lines.count(row) == 1, (lab, row)

    for number, page in enumerate(reader.pages, 1):
        clash = overprinted(text_runs(page))
        assert not clash, (number, clash[:3])

    # the Discussion reads the cards of the best method: its clusters' tags and words are in the paper
    index = json.loads((run_dir / "clusters" / "index.json").read_text())
    best = json.loads((run_dir / "clusters" / f"{index[0]['slug']}.json").read_text())
    discussion = text[text.index("Discussion\n") : text.index("Limitations\n")]
    assert f"{best['representation']} + {best['clusterer']}" in discussion
    biggest = max((c for c in best["cards"] if not c["noise"]), key=lambda c: c["size"])
    if biggest["tags"]:
        assert biggest["tags"][0]["tag"] in discussion
    for words in list(biggest["words"].values())[:1]:
        assert words["words"][0] in discussion


def test_figures_are_legible_at_print_size():
    """The heatmap's cells and the reconstruction panels' names print at 6 pt or more at the width the report places
    them (6-inch text width; heatmaps at 100%, reconstructions at 85-90%); panels are titled by title and artist."""
    import matplotlib

    matplotlib.use("Agg")
    from musiclust.cards import track_name
    from musiclust.plots import (
        HEATMAP_FONT,
        RECONSTRUCTION_FONT,
        feature_reconstruction_figure,
        logmel_reconstruction_figure,
        nmi_heatmap_figure,
    )

    reps = [f"rep{i}@musicnn" for i in range(24)]
    clus = ["kmeans", "agglomerative", "dbscan", "gmm", "hdbscan", "umap_kmeans", "umap_gmm", "umap_hdbscan"]
    wide = pd.DataFrame(
        [
            {"representation": r, "clusterer": c, "nmi_style_mean": 0.5, "nmi_style_std": 0.01}
            for r in reps
            for c in clus
        ]
    )
    fig = nmi_heatmap_figure(wide, "style")
    width, height = fig.get_size_inches()
    assert HEATMAP_FONT * 6.0 / width >= 6.5 and height * 6.0 / width <= 9.0  # fits a page at full width
    names = [track_name({"title": "Die Prophezeiung", "artist": "Equilibrium"}) + " (rock)"] * 4
    fig = logmel_reconstruction_figure(np.zeros((4, 8, 20)), np.zeros((4, 8, 20)), names, "t")
    assert "Die Prophezeiung —\nEquilibrium (rock)\noriginal" in [ax.get_title() for ax in fig.axes]
    assert RECONSTRUCTION_FONT * 0.85 * 6.0 / fig.get_size_inches()[0] >= 6.0
    fig = feature_reconstruction_figure(np.zeros((4, 10)), np.zeros((4, 10)), names, "t")
    assert fig.axes[0].get_title(loc="left") == names[0]
    assert RECONSTRUCTION_FONT * 0.9 * 6.0 / fig.get_size_inches()[0] >= 6.0


def test_seeds_runs_do_not_overwrite_and_shared_csv_accumulates(small_corpus, tmp_path, capsys):
    args = [
        "--data-path",
        str(small_corpus),
        "--output-dir",
        str(tmp_path),
        "--models",
        "raw",
        "pca",
        "--clusterers",
        "kmeans",
        "agglomerative",
        "--seeds",
        "0",
        "1",
        "--no-plots",
    ]
    code, out, err = _run(args, capsys)
    assert code == 0, err
    assert "NMI(style, k=4)" in out and out.strip().splitlines()[-1].startswith("results written to")
    code, _, _ = _run(args, capsys)
    runs = sorted(p for p in tmp_path.iterdir() if p.is_dir() and p.name.startswith("corpus-"))
    assert len(runs) == 2
    m = pd.read_csv(runs[0] / "metrics.csv")
    assert len(m) == 2 * 2 * 2 * 2  # representations x clusterers x seeds x targets (style, language)
    shared = pd.read_csv(tmp_path / "clustering_metrics.csv")
    assert shared["run_id"].nunique() == 2 and len(shared) == 32


def test_k_auto_is_chosen_without_labels_and_recorded(small_corpus, tmp_path, capsys):
    code, _, err = _run(
        [
            "--data-path",
            str(small_corpus),
            "--output-dir",
            str(tmp_path),
            "--models",
            "raw",
            "--clusterers",
            "kmeans",
            "--seeds",
            "0",
            "--k",
            "auto",
            "--no-plots",
        ],
        capsys,
    )
    assert code == 0, err
    info = json.loads(next(tmp_path.glob("corpus-*/config.json")).read_text())
    choice = info["resolved"]["k_choice"]
    assert choice["k"] == info["resolved"]["k"] and "median" in choice["chosen_by"]
    assert set(info["resolved"]["k_by_label"].values()) == {choice["k"]}  # one k for every label
    picks = sorted(choice["picks"].values())
    assert choice["k"] == picks[1]  # the rule it states: the lower middle of the four criteria's picks
    sil = {int(k): v["silhouette"] for k, v in choice["criteria_by_k"].items()}  # JSON keys are strings
    assert choice["picks"]["silhouette"] == max(sil, key=sil.get)


def test_inapplicable_models_are_skipped_with_a_reason(shared_data, tmp_path, capsys):
    table = tmp_path / "t.csv"
    pd.read_csv(shared_data / "gtzan" / "features_30_sec.csv").iloc[::5].to_csv(table, index=False)
    code, _, err = _run(
        [
            "--dataset",
            "table",
            "--data-path",
            str(table),
            "--output-dir",
            str(tmp_path),
            "--models",
            "raw",
            "convvae",
            "lyrics",
            "cvae",
            "--clusterers",
            "kmeans",
            "--seeds",
            "0",
            "--no-plots",
        ],
        capsys,
    )
    assert code == 0, err
    run_dir = next(tmp_path.glob("table-*"))
    skipped = pd.read_csv(run_dir / "skipped.csv")
    reasons = dict(zip(skipped["item"], skipped["reason"]))
    assert "features table" in reasons["representation convvae"]
    assert "no lyrics" in reasons["representation lyrics"]
    assert "no condition column" in reasons["representation cvae"]
    m = pd.read_csv(run_dir / "metrics.csv")
    assert set(m["representation"]) == {"raw"} and m["nmi"].iloc[0] > 0.2  # far above chance (~0.02)
    report = (run_dir / "report.md").read_text()
    named = next(ln for ln in report.splitlines() if ln.startswith("**Representations.**"))
    assert "`raw`" in named and "convvae" not in named and "cvae" not in named  # only what ran is named
    assert "Not run: convvae (" in report  # and what did not run is a limitation with its reason


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--dataset", "spotify"], "unknown dataset 'spotify'"),
        (["--dataset", "gtzan", "--data-path", "/nonexistent/gtzan"], "download_gtzan.py"),
        (["--k", "50"], "larger than the number of tracks"),
        (["--models", "tsne"], "unknown representation"),
        (["--clusterers", "spectral"], "unknown clusterer"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(small_corpus, tmp_path, capsys, args, needle):
    if "--dataset" not in args:
        args = args + ["--data-path", str(small_corpus)]
    code, _, err = _run(args + ["--output-dir", str(tmp_path)], capsys)
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1


def test_table_errors(tmp_path, capsys):
    path = tmp_path / "t.csv"
    pd.DataFrame({"f": [1.0, 2.0, 3.0], "label": ["a", "a", "a"]}).to_csv(path, index=False)
    code, _, err = _run(["--dataset", "table", "--data-path", str(path), "--output-dir", str(tmp_path)], capsys)
    assert code == 2 and "single class" in err and len(err.strip().splitlines()) == 1
    code, _, err = _run(
        ["--dataset", "table", "--data-path", str(path), "--label-column", "genre", "--output-dir", str(tmp_path)],
        capsys,
    )
    assert code == 2 and "no label column" in err


def test_script_exits_nonzero_with_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO / "run_experiments.py"), "--dataset", "nope", "--output-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: unknown dataset 'nope'")


def test_notebook_runs_top_to_bottom_on_a_finished_run(quick_run, small_corpus, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    out_dir, run_dir = quick_run
    monkeypatch.setenv("MUSICLUST_RESULTS", str(out_dir))
    monkeypatch.setenv("MUSICLUST_CORPUS", str(small_corpus))
    nb = nbformat.read(REPO / "notebooks" / "exploratory.ipynb", as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO / "notebooks")}}
    ).execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert run_dir.name in json.dumps(nb.cells[2].outputs)  # it read the run, it did not make a new one
    assert "final training loss" in text
    assert "explorer.html" in json.dumps([c.outputs for c in nb.cells if c.cell_type == "code"])  # shown inline
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert images >= 4


def test_config_file_with_overrides_round_trips(small_corpus, tmp_path, capsys):
    from musiclust.config import ExperimentConfig

    cfg = tmp_path / "study.yaml"
    cfg.write_text(
        f"dataset:\n  name: corpus\n  path: {small_corpus}\nrepresentations: [raw, pca]\n"
        "clusterers: [kmeans]\nseeds: [3, 4]\nlatent_dim: 5\nplots: false\n"
    )
    code, _, err = _run(["--config", str(cfg), "--seeds", "7", "--output-dir", str(tmp_path / "out")], capsys)
    assert code == 0, err
    saved = json.loads(next((tmp_path / "out").glob("corpus-*/config.json")).read_text())["config"]
    assert saved["seeds"] == [7] and saved["latent_dim"] == 5 and saved["representations"] == ["raw", "pca"]
    again = ExperimentConfig.from_dict(saved)  # the saved config is a complete, loadable config
    assert again.to_dict() == saved
    # the run's config.json itself (its record around the config) repeats the run
    record = next((tmp_path / "out").glob("corpus-*/config.json"))
    assert ExperimentConfig.from_file(record).to_dict() == saved
    bad = tmp_path / "bad.json"
    bad.write_text('{"sedes": [1]}')
    code, _, err = _run(["--config", str(bad)], capsys)
    assert code == 2 and "unknown config key" in err


def test_report_tex_compiles_with_pdflatex_and_bibtex_as_overleaf_does(quick_run, tmp_path):
    import shutil

    if not (shutil.which("pdflatex") and shutil.which("bibtex")):
        pytest.skip("no TeX installation here (Overleaf has one; the PDF itself comes from Typst)")
    _, run_dir = quick_run
    work = tmp_path / "report"
    shutil.copytree(run_dir / "report", work)
    for cmd in (
        ["pdflatex", "-interaction=nonstopmode", "report.tex"],
        ["bibtex", "report"],
        ["pdflatex", "-interaction=nonstopmode", "report.tex"],
        ["pdflatex", "-interaction=nonstopmode", "report.tex"],
    ):
        subprocess.run(cmd, cwd=work, capture_output=True, timeout=300)
    log = (work / "report.log").read_text(errors="replace")
    assert (work / "report.pdf").stat().st_size > 10_000
    assert not [ln for ln in log.splitlines() if ln.startswith("! ")]  # no LaTeX error
    assert "undefined references" not in log and "Citation" not in log  # every citation resolved
    assert (work / "report.bbl").read_text().count("\\bibitem") >= 5  # the citations resolved through BibTeX
