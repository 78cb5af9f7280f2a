"""What a reader sees on a PDF page, from the text positions pypdf reports: lines of text and whether any overlap."""

from __future__ import annotations

from dataclasses import dataclass

# a glyph is at least this wide, in units of the font size (a narrow "i" or "." is ~0.25; digits are 0.5)
MIN_GLYPH_WIDTH = 0.3


@dataclass(frozen=True)
class Run:
    """A piece of text drawn at one baseline ``y`` from ``x``, at least ``width`` wide, in points."""

    text: str
    x: float
    y: float
    size: float

    @property
    def width(self) -> float:
        return MIN_GLYPH_WIDTH * self.size * len(self.text)


def text_runs(page) -> list[Run]:
    """Every non-blank text run of a pypdf page, with its position on the page (text matrix x current matrix)."""
    runs: list[Run] = []

    def visit(text, cm, tm, font_dict, font_size):
        if not text.strip():
            return
        a, _, _, d, x, y = tm  # the origin of the text matrix ...
        A, B, C, D, E, F = cm
        x, y = A * x + C * y + E, B * x + D * y + F  # ... through the current transformation
        scale = (abs(d * D) or abs(a * A) or 1.0) * (font_size or 1.0)
        runs.append(Run(text.strip(), x, y, scale))

    page.extract_text(visitor_text=visit)
    return runs


def overprinted(runs: list[Run], same_line: float = 0.5) -> list[tuple[Run, Run]]:
    """Pairs of runs drawn over each other: baselines closer than 60% of the font size (but not on one line) whose
    horizontal extents overlap, or on one line with their glyphs overlapping by more than 2 pt."""
    out = []
    ordered = sorted(runs, key=lambda r: r.y)
    for i, r in enumerate(ordered):
        for s in ordered[i + 1 :]:
            dy = s.y - r.y
            if dy >= 0.6 * min(r.size, s.size):
                break
            overlap = min(r.x + r.width, s.x + s.width) - max(r.x, s.x)
            if dy > same_line and overlap > 0:
                out.append((r, s))
            elif dy <= same_line and overlap > 2.0:
                out.append((r, s))
    return out
