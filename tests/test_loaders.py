"""GTZAN folder layouts and the features-table loader, on fixtures written by the tests (real decoding)."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from musiclust.datasets import load_dataset
from musiclust.errors import MusiclustError
from musiclust.features.audio import decode

SR = 22050


def _tone(freq, seconds=1.0, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _write_gtzan(root, layout, ext, genres=("blues", "metal"), n=2):
    for g_i, genre in enumerate(genres):
        d = root / layout / genre
        d.mkdir(parents=True)
        for i in range(n):
            sf.write(
                str(d / f"{genre}.{i:05d}.{ext}"),
                _tone(220 * (g_i + 1) + 10 * i),
                SR,
                format=ext.upper(),
                subtype="PCM_16",
            )


@pytest.mark.parametrize("layout,ext", [("genres", "au"), ("genres_original", "wav")])
def test_gtzan_layouts(tmp_path, layout, ext):
    _write_gtzan(tmp_path, layout, ext)
    ds = load_dataset("gtzan", path=str(tmp_path))
    assert len(ds) == 4 and set(ds.tracks["genre"]) == {"blues", "metal"}
    assert ds.tracks["track_id"].tolist()[0] == "blues.00000"
    y, info = decode(ds.tracks["audio_path"][0])
    assert info["orig_sr"] == SR and y.shape == (SR,)
    np.testing.assert_allclose(y, _tone(220), atol=1e-4)  # 16-bit round trip


def test_gtzan_unreadable_clip_is_skipped_and_listed(tmp_path):
    _write_gtzan(tmp_path, "genres_original", "wav")
    bad = tmp_path / "genres_original" / "metal" / "metal.00054.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(100))
    ds = load_dataset("gtzan", path=str(tmp_path))
    assert len(ds) == 4
    assert [s["item"] for s in ds.skipped] == [str(bad)]
    assert "unreadable" in ds.skipped[0]["reason"]


def test_gtzan_missing_or_empty_folder_names_the_fetch_command(tmp_path):
    with pytest.raises(MusiclustError, match="download_gtzan.py"):
        load_dataset("gtzan", path=str(tmp_path / "nope"))
    with pytest.raises(MusiclustError, match="download_gtzan.py"):
        load_dataset("gtzan", path=str(tmp_path))


def test_unknown_dataset_lists_the_choices():
    with pytest.raises(MusiclustError, match="choose one of: corpus, folder, gtzan, jamendolyrics, lyrics, msd, table"):
        load_dataset("spotify")


def test_table_loader(tmp_path):
    df = pd.DataFrame(
        {
            "filename": [f"a{i}.wav" for i in range(6)],
            "f1": [0.3, 2.0, 1.0, 0.5, 0.1, 1.5],
            "f2": np.ones(6),
            "f3": [1.0, 3.0, 2.0, 2.5, 0.5, 4.0],
            "note": ["x"] * 6,
            "label": ["a", "a", "a", "b", "b", "b"],
            "lang": ["en", "bn"] * 3,
        }
    )
    df.loc[2, "f1"] = np.nan
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    ds = load_dataset("table", path=str(path), label_columns=["label", "lang"])
    assert list(ds.features.columns) == ["f1", "f3"]  # text is neither feature nor label; f2 is constant
    assert ds.info["feature_selection"]["dropped"] == [{"column": "f2", "reason": "constant column"}]
    assert len(ds) == 5 and ds.skipped[0]["item"] == "row 4"  # the file's line number (the header is line 1)
    assert ds.tracks["track_id"].tolist()[:2] == ["a0.wav", "a1.wav"]
    assert ds.primary_label == "label" and ds.label_columns == ["label", "lang"]
    with pytest.raises(MusiclustError, match="no label column"):
        load_dataset("table", path=str(path), label_columns=["genre"])
    with pytest.raises(MusiclustError, match="does not exist"):
        load_dataset("table", path=str(tmp_path / "missing.csv"))


def test_table_loader_on_kaggle_gtzan_features(shared_data):
    ds = load_dataset("table", path=str(shared_data / "gtzan" / "features_30_sec.csv"))
    assert len(ds) == 1000 and ds.n_classes() == 10
    assert ds.features.shape == (1000, 58)  # 57 features + length
    assert ds.tracks["track_id"][0] == "blues.00000.wav"
    assert (ds.tracks["label"].value_counts() == 100).all()
