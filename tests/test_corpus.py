import json
import shutil

import numpy as np
import pandas as pd
import soundfile as sf
from conftest import SMALL_N, SMALL_STYLES

from musiclust.datasets import corpus


def test_default_selection_meets_the_size_promise():
    counts = {c.style: len(corpus.select_scores(c, 50)) for c in corpus.STYLE_CLASSES}
    assert len(counts) >= 5
    assert all(n >= 40 for n in counts.values()), counts
    assert sum(counts.values()) >= 250
    vocal_languages = {
        corpus._language_for(c, rel)[0] for c in corpus.STYLE_CLASSES for rel in corpus.select_scores(c, 50)
    } - {"none"}
    assert {"de", "it", "la"} <= vocal_languages


def test_selection_is_deterministic_spread_and_nested():
    chorales = corpus.STYLE_CLASSES[0]
    a, b = corpus.select_scores(chorales, 10), corpus.select_scores(chorales, 10)
    assert a == b and len(set(a)) == 10
    all_ = corpus.candidate_scores(chorales)
    assert a[0] == all_[0] and a[-1] == all_[-1]
    # a quick run's pieces are a subset of the default corpus, so they are never rendered twice
    assert set(corpus.select_scores(chorales, 12)) <= set(corpus.select_scores(chorales, 50))


def test_a_small_request_keeps_the_larger_corpus_on_disk(small_corpus, tmp_path):
    import shutil

    copy = tmp_path / "c"
    shutil.copytree(small_corpus, copy)
    subset = corpus.build(copy, n_per_class=1, styles=["fiddle_tune"], n_jobs=1, progress=False)
    assert len(subset) == 1
    on_disk = pd.read_csv(copy / "manifest.csv", keep_default_na=False)
    assert len(on_disk) == SMALL_N * len(SMALL_STYLES)  # nothing dropped from the manifest


def test_manifest_integrity(small_corpus):
    m = pd.read_csv(small_corpus / "manifest.csv", keep_default_na=False)
    assert len(m) == SMALL_N * len(SMALL_STYLES)
    assert set(m["style"]) == set(SMALL_STYLES)
    for col in ["track_id", "audio_path", "style", "language", "composer", "lyrics", "source_score", "sha256"]:
        assert col in m.columns
    assert m["track_id"].is_unique
    missing, invalid = corpus.validate(small_corpus)
    assert missing == [] and invalid == []
    for row in m.itertuples():
        info = sf.info(str(small_corpus / row.audio_path))
        assert info.samplerate == 22050 and info.channels == 1 and info.subtype == "PCM_16"
        assert 1.0 <= info.duration <= 30.0 + 1e-6
        y, _ = sf.read(str(small_corpus / row.audio_path))
        assert np.abs(y).max() > 0.5  # peak-normalized, not silence
    # instrumental music has no language and no lyrics; chorales are German, madrigals Italian with their text
    instrumental = m["style"].isin(["fiddle_tune", "string_quartet"])
    assert set(m.loc[instrumental, "language"]) == {"none"}
    assert (m.loc[instrumental, "lyrics"] == "").all()
    assert set(m.loc[m["style"] == "bach_chorale", "language"]) == {"de"}
    madrigals = m[m["style"] == "monteverdi_madrigal"]
    assert set(madrigals["language"]) == {"it"} and madrigals["has_lyrics"].all()
    info = json.loads((small_corpus / "corpus_info.json").read_text())
    assert "synthesized" in info["what"] and info["failed"] == []


def test_real_lyrics_come_from_the_score(tmp_path):
    (tmp_path / "audio").mkdir()
    row = corpus._render_one(corpus.STYLE_CLASSES[0], "bach/bwv10.7.mxl", str(tmp_path), 5.0)
    assert row["lyrics"].startswith("Meine Seel")  # BWV 10.7, "Meine Seel' erhebt den Herren"
    assert row["language"] == "de" and row["has_lyrics"]


def test_rebuild_reuses_and_repairs(small_corpus, tmp_path):
    copy = tmp_path / "c"
    shutil.copytree(small_corpus, copy)
    m = corpus.build(copy, n_per_class=SMALL_N, styles=SMALL_STYLES, n_jobs=1, progress=False)
    assert json.loads((copy / "corpus_info.json").read_text())["rendered"] == 0
    # a damaged file is detected by its checksum and rendered again, byte-identical to the first build
    victim = copy / m["audio_path"][0]
    original = victim.read_bytes()
    victim.write_bytes(original[:1000])
    corpus.build(copy, n_per_class=SMALL_N, styles=SMALL_STYLES, n_jobs=1, progress=False)
    assert json.loads((copy / "corpus_info.json").read_text())["rendered"] == 1
    assert victim.read_bytes() == original


def test_two_builds_are_byte_identical(small_corpus, tmp_path):
    other = corpus.build(tmp_path / "again", n_per_class=SMALL_N, styles=SMALL_STYLES, n_jobs=1, progress=False)
    first = pd.read_csv(small_corpus / "manifest.csv", keep_default_na=False)
    assert other["sha256"].tolist() == first["sha256"].tolist()


def test_unknown_style_is_a_clear_error(tmp_path):
    import pytest

    from musiclust.errors import MusiclustError

    with pytest.raises(MusiclustError, match="unknown corpus style"):
        corpus.build(tmp_path, styles=["polka"], progress=False)


def test_a_long_movement_parsed_from_its_opening_renders_the_same_audio(tmp_path, monkeypatch):
    """An instrumental MusicXML score is parsed from its opening measures only; its excerpt must be the one the whole
    score gives, byte for byte (and its title and composer the same)."""
    quartets = next(c for c in corpus.STYLE_CLASSES if c.style == "string_quartet")
    rel = "beethoven/opus18no1/movement4.mxl"  # 381 measures, of which the excerpt needs about 50
    assert rel in corpus.select_scores(quartets, 50)
    score = corpus._parse_score(quartets, rel, 30.0)
    assert len(score.parts[0].getElementsByClass("Measure")) < 381
    (tmp_path / "opening" / "audio").mkdir(parents=True)
    (tmp_path / "whole" / "audio").mkdir(parents=True)
    opening = corpus._render_one(quartets, rel, str(tmp_path / "opening"), 30.0)
    from music21 import converter

    monkeypatch.setattr(
        corpus, "_parse_score", lambda c, r, s: converter.parse(str(corpus._corpus_root_of_music21() / r))
    )
    whole = corpus._render_one(quartets, rel, str(tmp_path / "whole"), 30.0)
    assert "error" not in opening and opening == whole
