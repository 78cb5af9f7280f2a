"""Cluster cards and playlists: the pure parts on small known inputs, then a real run's cards, CSV and playlists
(parsed back, every path opened), noise shown as noise, and ``--report-only RUN --cards REP CLUSTERER``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile

from musiclust.cards import (
    Method,
    class_tfidf,
    cluster_cards,
    distinctive_tags,
    label_mix,
    representatives,
    track_name,
)
from musiclust.cli import run_experiments_main
from musiclust.features.words import language_code, lyric_words, stop_words, word_counts


# --- words ----------------------------------------------------------------------------------------------------------
def test_lyric_words_keep_whole_words_in_every_script_and_drop_section_markers():
    text = "[Verse 1]\nI don't know, baby\n(Chorus)\nআমার সোনার বাংলা\nHeißen Sommertagen 2005 x"
    # Bangla vowel signs are combining marks: a letters-only tokenizer would cut these words apart
    assert lyric_words(text) == ["don't", "know", "baby", "আমার", "সোনার", "বাংলা", "heißen", "sommertagen"]


def test_language_codes_from_codes_and_names():
    assert [language_code(v) for v in ("de", "German", "english", "Bangla", "Bengali", "", "und", "xx-yy")] == [
        "de",
        "de",
        "en",
        "bn",
        "bn",
        None,
        None,
        None,
    ]


def test_each_track_loses_only_its_own_languages_stop_words():
    assert {"the", "and"} <= stop_words("en") and {"und", "war", "hat"} <= stop_words("de") and stop_words("bn")
    counts, vocab, row_track, row_language = word_counts(
        ["the war hat and dogs", "die Hunde hat und war Katzen"], ["en", "de"]
    )
    assert row_track.tolist() == [0, 1] and row_language.tolist() == ["en", "de"]
    first = {vocab[j] for j in counts[0].indices}
    second = {vocab[j] for j in counts[1].indices}
    assert first == {"war", "hat", "dogs"}  # English "war" and "hat" are words, not German "was" and "has"
    assert second == {"hunde", "katzen"}


def test_a_line_in_another_language_counts_for_that_language():
    """Code-switching: the English chorus of a German song gives English words, its German verse German ones."""
    song = "Ich hab dich so vermisst und die Nacht war lang\nI was lost in the dark without you, my heart\n"
    texts, codes = [song, "Und die Welt ist kalt und leer"], ["de", "de"]
    counts, vocab, row_track, row_language = word_counts(texts, codes, candidates=["de", "en"])
    rows = {
        (int(t), str(lang)): {vocab[j] for j in counts[r].indices}
        for r, (t, lang) in enumerate(zip(row_track, row_language))
    }
    assert set(rows) == {(0, "de"), (0, "en"), (1, "de")}
    assert rows[(0, "en")] == {"lost", "dark", "heart"} and "vermisst" in rows[(0, "de")]
    assert "my" not in rows[(0, "en")] and "the" not in set().union(*rows.values())
    assert stop_words(None) == frozenset() and stop_words("zz") == frozenset()


def test_a_songs_language_is_its_label_and_detected_only_where_it_has_none():
    from musiclust.features.words import track_word_counts

    tracks = pd.DataFrame(
        {
            # lingua calls this Latin Kyrie German; its label says Latin, as does the card's language mix
            "lyrics": [
                "Kyrieleison. Christeleison. Kyrieleison.",
                "Wo soll ich fliehen hin, weil ich beschweret bin, mit vielen, grossen Suenden?",
                "Dicant nunc iudei quomodo milites custodientes sepulcrum perdiderunt regem",
                "Wir Christenleut haben jetzund Freud, weil uns zu Trost ist Christus Mensch geboren",
            ],
            "language": ["la", "de", "la", ""],
        }
    )
    _, _, row_track, row_language = track_word_counts(tracks)
    by_track = dict(zip(row_track.tolist(), row_language.tolist()))
    assert by_track[0] == "la" and by_track[1] == "de" and by_track[2] == "la"
    assert by_track[3] == "de"  # no label: detected among the labelled languages


def test_class_tfidf_is_bertopics_formula():
    from scipy import sparse

    # two classes: documents 0,1 -> "a"; document 2 -> "b"; words w0, w1, w2
    counts = sparse.csr_matrix(np.array([[2, 1, 0], [1, 0, 0], [0, 1, 3]]))
    classes, W = class_tfidf(counts, ["a", "a", "b"])
    joined = np.array([[3, 1, 0], [0, 1, 3]], float)
    tf = joined / joined.sum(axis=1, keepdims=True)
    A = joined.sum(axis=1).mean()
    expected = tf * np.log(1 + A / joined.sum(axis=0))
    assert classes == ["a", "b"] and np.allclose(W, expected)
    assert W[0].argmax() == 0 and W[1].argmax() == 2  # each class's own most frequent word wins


def test_card_parts_on_known_inputs():
    mix = label_mix(pd.Series(["rock", "rock", "pop", "", "jazz", "rock", "folk"]))
    assert mix["top"][0] == {"class": "rock", "n": 3, "share": 0.5} and mix["unlabelled"] == 1 and mix["other"] == 1
    tags = pd.DataFrame({"metal": [0.9, 0.8, 0.1, 0.1], "pop": [0.1, 0.1, 0.6, 0.5], "rock": [0.3, 0.3, 0.3, 0.3]})
    members = np.array([True, True, False, False])
    got = distinctive_tags(tags, members)
    assert [t["tag"] for t in got] == ["metal"]  # pop is below the collection's mean and rock equal to it
    assert got[0]["cluster"] == pytest.approx(0.85) and got[0]["collection"] == pytest.approx(0.475)
    Z = np.array([[0.0, 0], [1, 0], [10, 10], [0.4, 0.1], [5, 5]])
    assert representatives(Z, np.array([True, True, False, True, False])).tolist() == [3, 0, 1]
    assert track_name({"title": "Satyr", "artist": "Letzte Instanz"}) == "Satyr \u2014 Letzte Instanz"
    assert track_name({"title": float("nan"), "track_id": "T1"}) == "T1"


# --- a real run ------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def card_run(shared_data, hybrid_feature_cache, tmp_path_factory) -> Path:
    """hybrid_songs (200 real English/German songs with their own lyrics) on MFCC: raw and PCA, two clusterers."""
    songs = shared_data / "hybrid_songs"
    out = tmp_path_factory.mktemp("cards")
    code = run_experiments_main(
        [
            "--dataset",
            "folder",
            "--data-path",
            str(songs),
            "--metadata",
            str(songs / "songs.csv"),
            "--output-dir",
            str(out),
            "--cache-dir",
            str(hybrid_feature_cache),
            "--models",
            "raw",
            "pca",
            "raw@musicnn",
            "lyrics",
            "--clusterers",
            "kmeans",
            "hdbscan",
            "--seeds",
            "0",
            "--no-plots",
            "--no-progress",
        ]
    )
    assert code == 0
    return next(p for p in out.iterdir() if p.is_dir() and p.name.startswith("folder-"))


def test_cards_of_the_best_method_of_each_label(card_run):
    index = json.loads((card_run / "clusters" / "index.json").read_text())
    summary = pd.read_csv(card_run / "summary.csv")
    for label in ("genre_tag", "language"):
        best = summary[summary["target"] == label].sort_values("nmi_mean", ascending=False).iloc[0]
        assert any(
            m["representation"] == best["representation"]
            and m["clusterer"] == best["clusterer"]
            and label in m["reason"]
            for m in index
        ), (label, index)
    tracks = pd.read_csv(card_run / "tracks.csv", keep_default_na=False)
    for m in index:
        result = json.loads((card_run / "clusters" / f"{m['slug']}.json").read_text())
        table = pd.read_csv(card_run / "clusters" / f"{m['slug']}.csv")
        assert len(table) == len(result["cards"]) and sum(c["size"] for c in result["cards"]) == result["n_tracks"]
        for card in result["cards"]:
            assert set(card["labels"]) == {"genre_tag", "language"}
            shares = [t["share"] for t in card["labels"]["language"]["top"]]
            assert shares == sorted(shares, reverse=True) and sum(shares) <= 1.0001
            if card["noise"]:
                assert card["representatives"] == []
                continue
            assert len(card["representatives"]) == min(3, card["size"])
            for rep in card["representatives"]:  # real titles and artists of this collection
                row = tracks[tracks["track_id"] == rep["track_id"]].iloc[0]
                assert (rep["title"], rep["artist"]) == (row["title"], row["artist"])
            for lang, words in card["words"].items():
                assert lang in ("en", "de") and words["tracks"] >= 2 and words["words"]
                assert not set(words["words"]) & stop_words(lang)


def test_language_clusters_read_as_languages(card_run):
    """The lyrics' best language clustering: each cluster's words are of the language it holds."""
    index = json.loads((card_run / "clusters" / "index.json").read_text())
    lang = next(m for m in index if "best against language" in m["reason"])
    result = json.loads((card_run / "clusters" / f"{lang['slug']}.json").read_text())
    for card in (c for c in result["cards"] if not c["noise"] and c["size"] >= 20):
        top = card["labels"]["language"]["top"][0]
        if top["share"] >= 0.9:
            assert top["class"] in card["words"]
            assert max(card["words"], key=lambda k: card["words"][k]["tracks"]) == top["class"]


def test_playlists_parse_back_and_every_path_opens(card_run):
    index = json.loads((card_run / "clusters" / "index.json").read_text())
    clusters = pd.read_csv(card_run / "clusters.csv", dtype={"track_id": str})
    tracks = pd.read_csv(card_run / "tracks.csv", keep_default_na=False, dtype={"track_id": str})
    by_path = {
        str(Path(p).resolve()): (t, a) for p, t, a in zip(tracks["audio_path"], tracks["title"], tracks["artist"])
    }
    for m in index:
        result = json.loads((card_run / "clusters" / f"{m['slug']}.json").read_text())
        folder = card_run / "playlists" / m["slug"]
        real = [c for c in result["cards"] if not c["noise"]]
        assert sorted(p.name for p in folder.glob("*.m3u8")) == sorted(f"cluster_{c['cluster']}.m3u8" for c in real)
        for card in real:
            text = (folder / f"cluster_{card['cluster']}.m3u8").read_bytes().decode("utf-8")
            lines = text.splitlines()
            assert lines[0] == "#EXTM3U"
            entries = list(zip(lines[1::2], lines[2::2]))
            assert len(entries) == card["size"]
            for extinf, rel in entries:
                assert not Path(rel).is_absolute()  # relative, so the run folder can move with its audio
                path = (folder / rel).resolve()
                seconds = int(extinf.removeprefix("#EXTINF:").split(",", 1)[0])
                assert abs(soundfile.info(str(path)).duration - seconds) <= 1
                title, artist = by_path[str(path)]
                assert extinf.split(",", 1)[1] == f"{artist} - {title}"
            if result["column"] in clusters.columns:
                members = clusters.loc[clusters[result["column"]] == card["cluster"], "track_id"]
                assert len(members) == card["size"]


def test_noise_is_shown_as_noise_and_gets_no_playlist(card_run, tmp_path):
    run = tmp_path / card_run.name
    shutil.copytree(card_run, run)
    clusters = pd.read_csv(run / "clusters.csv", dtype={"track_id": str})
    col = clusters["raw/kmeans"].copy()
    col.iloc[:7] = -1  # seven tracks marked as noise
    clusters["raw/kmeans"] = col
    clusters.to_csv(run / "clusters.csv", index=False)
    result = cluster_cards(run, Method("raw", "kmeans"))
    noise = [c for c in result["cards"] if c["noise"]]
    assert len(noise) == 1 and noise[0]["size"] == 7 and result["cards"][-1]["noise"]  # noise last
    assert result["n_clusters"] == len(result["cards"]) - 1


def test_cards_on_request_from_report_only(card_run, tmp_path, capsys):
    run = tmp_path / card_run.name
    shutil.copytree(card_run, run)
    code = run_experiments_main(["--report-only", str(run), "--cards", "pca", "hdbscan"])
    assert code == 0
    index = json.loads((run / "clusters" / "index.json").read_text())
    assert any(m["slug"] == "pca__hdbscan" and m["reason"] == "asked for" for m in index)
    assert (run / "clusters" / "pca__hdbscan.csv").exists() and (run / "playlists" / "pca__hdbscan").is_dir()
    # asked-for cards survive the next rebuild
    assert run_experiments_main(["--report-only", str(run)]) == 0
    assert (run / "clusters" / "pca__hdbscan.json").exists()
    capsys.readouterr()
    code = run_experiments_main(["--report-only", str(run), "--cards", "vae", "kmeans"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "vae" in err
