"""Lyric words for reading clusters: tokens per track with each language's stop words removed, and class-based TF-IDF.

Pure functions. The stop words are the Stopwords ISO collection (``stopwordsiso`` package, 58 languages incl. Bangla,
German, English), chosen per track by that track's language; a track whose language has no list keeps all its words.
The class-based TF-IDF is BERTopic's (Grootendorst 2022, "BERTopic: Neural topic modeling with a class-based TF-IDF
procedure"): the documents of one class are joined into one, and a word's weight in class c is
``tf(t, c) * log(1 + A / f(t))`` with ``tf`` normalized by the class's word count, ``f(t)`` the word's frequency over
all classes and ``A`` the average number of words per class.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import numpy as np
from scipy import sparse

# section markers of lyric sites: "[Verse 1]", "[Refrain]", "(Chorus)" on a line of their own
_SECTION = re.compile(r"^\s*[\[(][^\])]{0,40}[\])]\s*$", re.MULTILINE)
_APOSTROPHES = "'\u2019"
MIN_LENGTH = 2


def lyric_words(text) -> list[str]:
    """The words of a lyric, lower-cased: runs of letters and combining marks (so Bangla and Devanagari words, whose
    vowel signs are marks, stay whole), an apostrophe inside a word kept ("don't"); section markers dropped."""
    text = _SECTION.sub(" ", str(text or "")).lower()
    words, current = [], []
    for i, ch in enumerate(text):
        cat = unicodedata.category(ch)
        inner_apostrophe = ch in _APOSTROPHES and current and i + 1 < len(text) and text[i + 1].isalpha()
        if cat[0] in "LM" or inner_apostrophe:
            current.append("'" if ch in _APOSTROPHES else ch)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return [w for w in words if len(w) >= MIN_LENGTH]


def language_code(value) -> str | None:
    """ISO 639-1 code for a language label, or None: the datasets' own name-to-code mapping (`datasets.lyrics`), then
    lingua's names for the languages it lists (``"Swedish"`` -> ``"sv"``)."""
    from ..datasets.lyrics import language_code as normalized

    text = normalized(value)  # "und" for a blank, a code for a known name, else the value lower-cased
    if text in ("und", "nan", "none"):
        return None
    if len(text) == 2 and text.isalpha():
        return text
    from lingua import Language

    try:
        return Language.from_str(text).iso_code_639_1.name.lower()
    except ValueError:
        return None


def track_word_counts(tracks):
    """`word_counts` of a dataset's ``tracks`` (``lyrics``, optional ``language``): each song's language is its
    ``language`` label, the one the cards' language mix shows; where a song has none, it is detected offline (lingua)
    among the languages the column names. Each line then counts for the language whose stop words it uses, so a song
    sung in another language than its label (a German band singing in English) still counts its lines right.

    Label first, because the detector errs on short or old texts where the label does not: on the embedded corpus it
    called three Latin Kyries (``"Kyrieleison. Christeleison."``) German and 23 Italian madrigals Latin, and a card
    whose cluster was Latin and Italian by label listed "its de lyrics"."""
    from ..datasets.language import detect_languages
    from ..errors import MusiclustError

    texts = tracks["lyrics"].fillna("").astype(str).tolist()
    labelled = [language_code(v) for v in tracks["language"]] if "language" in tracks.columns else [None] * len(texts)
    candidates = sorted({c for c in labelled if c}) or None
    unlabelled = [i for i, lab in enumerate(labelled) if not lab and texts[i].strip()]
    codes = list(labelled)
    if unlabelled:
        try:
            detected = detect_languages(
                [texts[i] for i in unlabelled], candidates if candidates and len(candidates) > 1 else None
            )
        except MusiclustError:  # a code lingua does not know: the labels alone
            detected = ["und"] * len(unlabelled)
        for i, d in zip(unlabelled, detected):
            codes[i] = d if d != "und" else None
    return word_counts(texts, codes)


@cache
def stop_words(code: str | None) -> frozenset[str]:
    """The Stopwords ISO list of a language (empty when the collection has none for it)."""
    import stopwordsiso

    if not code or not stopwordsiso.has_lang(code):
        return frozenset()
    return frozenset(w.lower().replace("\u2019", "'") for w in stopwordsiso.stopwords(code))


MIN_LINE_EVIDENCE = 2  # stop words a line needs before it counts as another language than its song's


def line_language(words: list[str], own: str | None, candidates: list[str]) -> str | None:
    """The language of one lyric line: the candidate whose stop words it uses most, when that is at least
    `MIN_LINE_EVIDENCE` words and more than the song's own language gets; the song's language otherwise. Code-switching
    is what hybrid-language songs do: an English chorus in a German song counts as English."""
    hits = {c: sum(w in stop_words(c) for w in words) for c in candidates}
    if not hits:
        return own
    best = max(hits.values())
    winners = [c for c, h in hits.items() if h == best]
    if best < MIN_LINE_EVIDENCE or len(winners) > 1 or best <= hits.get(own, 0):
        return own
    return winners[0]


def word_counts(texts, codes, candidates: list[str] | None = None):
    """``(counts (n_rows, n_words), vocabulary, row_track, row_language)``: one row per track and language its lines
    are in (`line_language` among ``candidates``, default the languages of ``codes``), each line's words minus that
    language's stop words."""
    candidates = sorted({c for c in codes if c}) if candidates is None else list(candidates)
    vocab: dict[str, int] = {}
    rows, cols, row_track, row_language = [], [], [], []
    for i, (text, code) in enumerate(zip(texts, codes)):
        by_language: dict = {}
        for line in _SECTION.sub(" ", str(text or "")).splitlines():
            words = lyric_words(line)
            if not words:
                continue
            lang = line_language(words, code, candidates)
            stops = stop_words(lang)
            by_language.setdefault(lang, []).extend(w for w in words if w not in stops)
        for lang, words in by_language.items():
            if not words:
                continue
            r = len(row_track)
            row_track.append(i)
            row_language.append(lang or "")
            for w in words:
                rows.append(r)
                cols.append(vocab.setdefault(w, len(vocab)))
    counts = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(len(row_track), len(vocab)), dtype=np.int32
    )
    counts.sum_duplicates()
    return counts, list(vocab), np.asarray(row_track, dtype=int), np.asarray(row_language, dtype=str)


def class_tfidf(counts: sparse.spmatrix, classes) -> tuple[list, np.ndarray]:
    """BERTopic's c-TF-IDF: ``(class values, weights (n_classes, n_words))`` for ``counts`` ``(n_docs, n_words)``
    grouped by ``classes`` (one value per document)."""
    classes = np.asarray(classes)
    values = list(dict.fromkeys(classes.tolist()))
    joined = np.vstack([np.asarray(counts[classes == c].sum(axis=0)).ravel() for c in values]).astype(float)
    per_class = joined.sum(axis=1, keepdims=True)
    tf = np.divide(joined, per_class, out=np.zeros_like(joined), where=per_class > 0)
    frequency = joined.sum(axis=0)
    average = per_class.mean() if len(values) else 0.0
    idf = np.log1p(np.divide(average, frequency, out=np.zeros_like(frequency), where=frequency > 0))
    return values, tf * idf


__all__ = [
    "class_tfidf",
    "language_code",
    "line_language",
    "lyric_words",
    "stop_words",
    "track_word_counts",
    "word_counts",
]
