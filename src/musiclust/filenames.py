"""File names made from user text: a label column may be called anything (``genre / style``, ``Künstler?``), and a
figure named after it must still be one file in one folder on every operating system."""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^\w.-]+")  # \w: Unicode letters and digits, and '_'


def file_stem(text: str) -> str:
    """``text`` as a file-name stem: unchanged when it is already safe (letters, digits, ``_ . -``, not starting with
    a dot), else each run of other characters replaced by ``_`` and 8 hex digits of its SHA-1 appended, so that two
    names that differ only in those characters (``a/b``, ``a b``) never share a file."""
    text = str(text)
    stem = _UNSAFE.sub("_", text).lstrip(".")
    if stem == text and stem:
        return stem
    return f"{stem or 'label'}-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:8]}"


def comparison_figure(label: str) -> str:
    """The file name of the NMI heatmap of every representation x clusterer against ``label`` (in ``figures/``)."""
    return f"comparison_{file_stem(label)}.png"
