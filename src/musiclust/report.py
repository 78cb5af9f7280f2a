"""A paper from a finished run's own files: Markdown (Jinja2 template) -> pandoc -> LaTeX for Overleaf and Typst -> PDF.

What each section says is `report_context` (one function per section); this module renders and typesets it. Every
number is read from the run's ``summary.csv``/``metrics.csv``/``config.json`` and printed with one rounding
(`fmt`), so the report can be rebuilt at any time (``run_experiments.py --report-only RUN``) and checked against the
CSV. Which library does what: Jinja2 fills ``templates/report.md.j2``; pandoc (shipped by ``pypandoc-binary``) turns
that one Markdown source into ``report/report.tex`` (NeurIPS layout: ``neurips_2024.sty`` when the user puts it beside
the file, a geometry fallback otherwise; natbib with ``references.bib``) and into Typst; the ``typst`` package compiles
``report.pdf`` in-process, with no TeX installation.

Files: ``report.md`` (the source), ``report.pdf``, and ``report/`` (``report.tex``, ``references.bib``, ``figures/``)
which can be zipped and uploaded to Overleaf as it is.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from . import atomic
from .report_context import build_context, fmt, paired_comparison

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"

# LaTeX preamble: the NeurIPS style when the user has put it beside report.tex, the NeurIPS text block otherwise.
NEURIPS_HEADER = r"""\IfFileExists{neurips_2024.sty}{\usepackage[preprint]{neurips_2024}}{%
  \usepackage[letterpaper,textwidth=5.5in,textheight=9in,top=1in]{geometry}}"""


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
    atomic.write_text(paths["md"], md)
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
        atomic.write_text(paths["tex"], tex.replace(r"\bibliography{references.bib}", r"\bibliography{references}"))
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
                # figures float to the top or bottom of a page instead of leaving the rest of a page empty (so do the
                # main text's tables when each fits a page: see the template)
                "-V",
                "header-includes=#show figure.where(kind: image): set figure(placement: auto)",
            ],
        )
        (out / "report.typ").write_text(typ)
    except (OSError, RuntimeError) as exc:  # pandoc missing or failing must not cost the run its results
        log.warning("report.tex/report.pdf not written: pandoc failed: %s", str(exc).splitlines()[0])
        return paths
    try:
        import typst

        with atomic.atomic_path(run_dir / "report.pdf") as tmp:
            typst.compile(str(out / "report.typ"), output=str(tmp), root=str(out))
        paths["pdf"] = run_dir / "report.pdf"
    except Exception as exc:  # noqa: BLE001 - a typesetting failure is reported, the run's results stay
        log.warning("report.pdf not written: typst failed: %s", str(exc).splitlines()[0] if str(exc) else exc)
    return paths


__all__ = ["build_context", "build_markdown", "fmt", "paired_comparison", "write_report"]
