"""Lyrics features across languages and scripts, modality fusion, and offline language detection."""

import numpy as np
import pytest

from musiclust.errors import MusiclustError
from musiclust.features import text

LYRICS = {
    "en1": "I walk along the river, the river takes me home, home is where the heart is",
    "en2": "Take me home tonight, the river and the road, I walk alone",
    "de1": "Meine Seele erhebt den Herren, und mein Geist freuet sich Gottes meines Heilandes",
    "de2": "Nun danket alle Gott mit Herzen, Mund und Händen, der große Dinge tut",
    "bn1": "আমার সোনার বাংলা, আমি তোমায় ভালোবাসি। চিরদিন তোমার আকাশ, তোমার বাতাস",
    "bn2": "আমার প্রাণে বাজায় বাঁশি, সোনার বাংলা তোমায় ভালোবাসি",
    "mix1": "আমি তোমায় ভালোবাসি, I love you baby, তোমার আকাশ is my sky tonight",
    "mix2": "তুমি আমার, you are my home, আমার সোনার বাংলা and the river",
}


def test_tokenizer_keeps_bengali_words_whole():
    assert text.tokenize("আমার সোনার বাংলা") == ["আমার", "সোনার", "বাংলা"]
    # Python's \w alone would split "সোনার" at its vowel sign
    assert text.tokenize("Händen, und SEELE!") == ["händen", "und", "seele"]


def test_lyrics_features_across_languages_with_empty_lyrics():
    texts = list(LYRICS.values()) + ["", None]
    L, mask = text.lyrics_features(texts, dim=4, seed=0)
    assert L.shape == (10, 4)
    assert mask.tolist() == [True] * 8 + [False, False]
    assert np.all(L[8:] == 0)  # no fake text: the rows without lyrics are empty, and marked
    assert np.isfinite(L).all()
    names = list(LYRICS)
    sim = L[:8] @ L[:8].T

    def s(a, b):
        return sim[names.index(a), names.index(b)]

    # songs in the same language are closer than songs in different languages (scripts included)
    assert s("bn1", "bn2") > s("bn1", "en1") and s("bn1", "bn2") > s("bn1", "de1")
    assert s("en1", "en2") > s("en1", "de1")
    # mixed Bangla-English songs sit between the two languages: similar to both
    assert s("mix1", "bn1") > s("mix1", "de1") and s("mix2", "en1") > s("mix2", "de2")


def test_lyrics_features_are_deterministic_and_need_some_text():
    texts = list(LYRICS.values())
    a, _ = text.lyrics_features(texts, dim=3, seed=1)
    b, _ = text.lyrics_features(texts, dim=3, seed=1)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(MusiclustError, match="at least 2 tracks with lyrics"):
        text.lyrics_features(["only one song", "", None], dim=3)


def test_fuse_gives_each_modality_its_share_of_variance():
    rng = np.random.default_rng(0)
    audio = rng.normal(size=(50, 40)) * 3
    lyrics = rng.normal(size=(50, 500)) * 0.1  # 500-D text must not drown 40-D audio
    F = text.fuse({"audio": audio, "lyrics": lyrics})
    assert F.shape == (50, 540)
    va, vl = F[:, :40].var(axis=0).sum(), F[:, 40:].var(axis=0).sum()
    assert va == pytest.approx(0.5) and vl == pytest.approx(0.5)
    F = text.fuse({"audio": audio, "lyrics": lyrics}, {"audio": 3, "lyrics": 1})
    assert F[:, :40].var(axis=0).sum() == pytest.approx(0.75)


def test_language_detection_on_known_sentences():
    sentences = [
        "The quick brown fox jumps over the lazy dog and runs away",
        "Der schnelle braune Fuchs springt über den faulen Hund",
        "আমি বাংলায় গান গাই, আমি বাংলার গান গাই",
        "El rápido zorro marrón salta sobre el perro perezoso",
        "",
    ]
    assert text.detect_languages(sentences) == ["en", "de", "bn", "es", "und"]
    assert text.detect_languages(["Benedicamus Domino, Deo gratias"], languages=["la", "it"]) == ["la"]


def test_sentence_backend_is_optional_and_never_downloads():
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        with pytest.raises(MusiclustError, match="pip install sentence-transformers"):
            text.sentence_embeddings(["hello"], model="all-MiniLM-L6-v2")
    else:
        with pytest.raises(MusiclustError, match="offline"):
            text.sentence_embeddings(["hello"], model="/nonexistent/model/path")


def test_missing_language_column_is_detected_and_recorded():
    import pandas as pd

    from musiclust.datasets.base import Dataset

    tracks = pd.DataFrame(
        {"track_id": ["a", "b", "c"], "genre": ["x", "y", "x"], "lyrics": [LYRICS["en1"], LYRICS["de1"], ""]}
    )
    ds = text.ensure_language(Dataset("t", tracks, ["genre"], "genre"))
    assert ds.tracks["language"].tolist() == ["en", "de", "unknown"]  # no text: left out of the language metrics
    assert ds.tracks["language_source"].tolist() == ["detected", "detected", "unknown"]
    assert ds.labelled("language").tolist() == [True, True, False]
    assert ds.label_columns == ["genre", "language"]
    tracks["language"] = ["xx", "yy", "zz"]  # given languages are never overwritten
    assert text.ensure_language(Dataset("t", tracks, ["genre"], "genre")).tracks["language"].tolist() == [
        "xx",
        "yy",
        "zz",
    ]
