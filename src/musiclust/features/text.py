"""Lyrics features that work across languages and scripts (Latin, Bengali, Devanagari, ...), and modality fusion.

Why this design: the earlier attempt fed 500-D English-stop-worded TF-IDF next to 40-D audio, so text dominated every
distance. Here lyrics become a low-dimensional, L2-normalized vector (word + character n-gram TF-IDF reduced by
TruncatedSVD to ``dim``, default 32, the same order as the 40-D audio features), and `fuse` weights each modality
explicitly by its total variance.

- No stop-word list is assumed (English or otherwise); ``sublinear_tf`` and ``max_df`` damp very common words in any
  language.
- Tokens are runs of letters, digits **and combining marks** (Unicode categories L*, N*, M*): Python's ``\\w`` alone
  splits Bengali and Devanagari words at their vowel signs.
- Character n-grams (2-4, within word boundaries) carry shared roots across inflections and spelling variants and are
  what makes mixed-language songs (Bangla + English) comparable.
- Tracks without lyrics get no text: their vector is all zeros (the centre of the lyrics block after centring) and
  ``has_lyrics`` marks them.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

import numpy as np

from ..errors import MusiclustError


@functools.lru_cache(maxsize=1)
def _word_regex() -> re.Pattern:
    """Runs of letters, digits and combining marks (built once, lazily: scanning Unicode takes ~0.1 s)."""
    marks = []
    start = None
    for cp in range(sys.maxunicode + 1):
        is_mark = unicodedata.category(chr(cp)).startswith("M")
        if is_mark and start is None:
            start = cp
        elif not is_mark and start is not None:
            marks.append((start, cp - 1))
            start = None
    ranges = "".join(f"\\U{a:08x}-\\U{b:08x}" if a != b else f"\\U{a:08x}" for a, b in marks)
    return re.compile(f"(?:[^\\W_]|[{ranges}])+")


def normalize_text(text: str) -> str:
    """NFC-normalized, lower-cased, whitespace-collapsed text (so composed and decomposed Bengali compare equal)."""
    text = unicodedata.normalize("NFC", text or "")
    return re.sub(r"\s+", " ", text).strip().lower()


def tokenize(text: str) -> list[str]:
    """Word tokens in any script, e.g. ``tokenize("আমার সোনার বাংলা")`` keeps each Bengali word whole."""
    return _word_regex().findall(normalize_text(text))


def has_text(texts) -> np.ndarray:
    """Boolean mask ``(n,)``: which entries hold at least one word."""
    return np.array([bool(tokenize(t)) if isinstance(t, str) else False for t in texts])


def lyrics_features(
    texts, dim: int = 32, seed: int = 0, char_ngrams: tuple[int, int] = (2, 4), max_df: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """TF-IDF (word + character n-grams) -> TruncatedSVD -> L2 normalization.

    Args:
        texts: ``n`` lyric strings; empty strings or None for tracks without lyrics.
        dim: output dimension (capped by the data: at most ``n_with_lyrics - 1`` and the vocabulary size).
    Returns:
        ``(L, mask)``: ``L`` of shape ``(n, d)`` with unit-norm rows for tracks with lyrics and zero rows otherwise;
        ``mask`` ``(n,)`` says which tracks have lyrics.
    """
    from scipy.sparse import hstack
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    texts = ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t) for t in texts]
    mask = has_text(texts)
    n_text = int(mask.sum())
    if n_text < 2:
        raise MusiclustError(f"lyrics features need at least 2 tracks with lyrics (found {n_text})")
    docs = [normalize_text(t) for t, m in zip(texts, mask) if m]
    # max_df only makes sense once there are enough documents for "too common" to mean anything
    df_cap = max_df if n_text >= 10 else 1.0
    word = TfidfVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False, sublinear_tf=True, max_df=df_cap)
    char = TfidfVectorizer(
        analyzer="char_wb", ngram_range=char_ngrams, lowercase=False, sublinear_tf=True, max_df=df_cap
    )
    T = hstack([word.fit_transform(docs), char.fit_transform(docs)]).tocsr()
    k = max(1, min(dim, n_text - 1, T.shape[1] - 1))
    svd = TruncatedSVD(n_components=k, random_state=seed)
    Z = normalize(svd.fit_transform(T))
    L = np.zeros((len(texts), k))
    L[mask] = Z - Z.mean(axis=0)  # centred, so "no lyrics" (zeros) sits at the centre, not at a corner
    return L, mask


def fuse(blocks: dict[str, np.ndarray], weights: dict[str, float] | None = None) -> np.ndarray:
    """Concatenate modality blocks, each scaled so its share of the total variance equals its weight.

    ``blocks``: name -> ``(n, d_name)`` matrix. ``weights`` default to equal shares. A block's total variance is the
    sum of its column variances; after scaling block ``b`` has total variance ``weights[b] / sum(weights)``, so a
    32-D lyrics block and a 40-D (or 500-D) audio block contribute in the stated proportion whatever their widths.
    """
    names = list(blocks)
    weights = weights or {n: 1.0 for n in names}
    missing = [n for n in names if n not in weights]
    if missing:
        raise MusiclustError(f"no fusion weight for modality {missing}")
    total_w = sum(weights[n] for n in names)
    out = []
    for n in names:
        B = np.asarray(blocks[n], dtype=np.float64)
        B = B - B.mean(axis=0)
        var = float(B.var(axis=0).sum())
        scale = np.sqrt(weights[n] / total_w / var) if var > 0 else 0.0
        out.append(B * scale)
    return np.hstack(out)


# Language identification is part of assembling a dataset's labels; it lives in datasets.language.
from ..datasets.language import detect_languages, ensure_language  # noqa: E402,F401


def sentence_embeddings(texts, model: str, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Optional backend: sentence-transformers embeddings ``(n, d)`` (zero rows without lyrics), L2-normalized.

    ``model`` is a local folder or a model name already in the local Hugging Face cache; nothing is downloaded
    (``HF_HUB_OFFLINE=1`` is set for the load). Imported only when asked for.
    """
    import os

    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise MusiclustError("the sentence-embedding backend needs: pip install sentence-transformers") from None
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        encoder = SentenceTransformer(model, device="cpu")
    except Exception as exc:
        raise MusiclustError(
            f"cannot load sentence-embedding model '{model}' offline: {str(exc).splitlines()[0]}"
        ) from None
    texts = ["" if not isinstance(t, str) else t for t in texts]
    mask = has_text(texts)
    E = np.zeros((len(texts), encoder.get_sentence_embedding_dimension()))
    if mask.any():
        E[mask] = encoder.encode(
            [t for t, m in zip(texts, mask) if m],
            batch_size=batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
    return E, mask
