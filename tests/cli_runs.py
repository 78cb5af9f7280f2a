"""Helpers the command-line tests share: run `run_experiments.py` in-process and find the run folder it wrote."""

from __future__ import annotations

from pathlib import Path

from musiclust.cli import run_experiments_main


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    """``run_experiments.py args`` in this process: ``(exit code, stdout, stderr)``."""
    code = run_experiments_main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def only_run(out_dir: Path, prefix: str) -> Path:
    """The one run folder under ``out_dir`` whose name starts with ``prefix`` (asserts there is exactly one)."""
    runs = [p for p in out_dir.iterdir() if p.is_dir() and p.name.startswith(prefix)]
    assert len(runs) == 1, runs
    return runs[0]
