"""Languages of lyrics, detected offline where a collection does not name them.

lingua-language-detector ships its models in the wheel, so nothing is downloaded. A track without lyric text gets the
language ``unknown`` (and ``language_source = unknown``), which leaves it out of the language metrics only.
"""

from __future__ import annotations

import pandas as pd

from ..errors import MusiclustError
from .base import Dataset

UNKNOWN = "unknown"


def detect_languages(texts, languages: list[str] | None = None) -> list[str]:
    """ISO 639-1 code per text by lingua (models ship in the wheel, offline); ``"und"`` when undecided or empty.

    ``languages`` restricts the candidates (ISO 639-1 codes), which is faster and more accurate when known.
    """
    try:
        from lingua import IsoCode639_1, LanguageDetectorBuilder
        from lingua import Language as LinguaLanguage
    except ImportError:
        raise MusiclustError("language detection needs lingua: pip install lingua-language-detector") from None
    if languages:
        try:
            langs = [LinguaLanguage.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in languages]
        except AttributeError as exc:
            raise MusiclustError(f"unknown ISO 639-1 language code in {languages}: {exc}") from None
        builder = LanguageDetectorBuilder.from_languages(*langs)
    else:
        builder = LanguageDetectorBuilder.from_all_languages()
    detector = builder.with_minimum_relative_distance(0.1).build()
    out = []
    for t in texts:
        t = t if isinstance(t, str) else ""
        lang = detector.detect_language_of(t) if t.strip() else None
        out.append(lang.iso_code_639_1.name.lower() if lang is not None else "und")
    return out


def detected_language_columns(lyrics: pd.Series) -> tuple[list[str], list[str]]:
    """``(language, language_source)`` per track: detected from the lyrics, ``unknown`` where there is no text."""
    texts = lyrics.fillna("").astype(str)
    has = texts.str.strip() != ""
    detected = detect_languages(texts[has].tolist()) if has.any() else []
    it = iter(detected)
    language, source = [], []
    for h in has:
        if h:
            code = next(it)
            language.append(UNKNOWN if code == "und" else code)
            source.append("detected" if code != "und" else "undecided (detected)")
        else:
            language.append(UNKNOWN)
            source.append(UNKNOWN)
    return language, source


def with_detected_language(
    tracks: pd.DataFrame,
    labels: list[str],
    name: str,
    description: str,
    skipped: list[dict] | None = None,
    info: dict | None = None,
) -> Dataset:
    """A `Dataset` from tracks that may lack a ``language`` column: when they have lyrics but no language, it is
    detected (`detected_language_columns`) and becomes a label."""
    labels = list(labels)
    if "language" not in tracks.columns and "lyrics" in tracks.columns:
        tracks = tracks.copy()
        tracks["language"], tracks["language_source"] = detected_language_columns(tracks["lyrics"])
        labels.append("language")
    if not labels:
        raise MusiclustError(
            f"dataset '{name}' has no label column and no lyrics to detect a language from: pass --label-column NAME"
        )
    return Dataset(name, tracks, labels, labels[0], description, None, list(skipped or []), dict(info or {}))


def ensure_language(dataset: Dataset) -> Dataset:
    """Give a dataset with lyrics but no ``language`` column one, detected offline from the lyrics; ``language``
    becomes a label column. Data that has a ``language`` column keeps it untouched."""
    tracks = dataset.tracks
    if "language" in tracks.columns or "lyrics" not in tracks.columns:
        return dataset
    tracks = tracks.copy()
    tracks["language"], tracks["language_source"] = detected_language_columns(tracks["lyrics"])
    return Dataset(
        dataset.name,
        tracks,
        [*dataset.label_columns, "language"],
        dataset.primary_label,
        dataset.description,
        dataset.features,
        dataset.skipped,
        dataset.info,
    )
