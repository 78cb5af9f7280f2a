"""Shared fixtures: a small real corpus subset, built once per test session, and the shared evaluation data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# Four contrasting style classes (German and Italian lyrics, two instrumental), three pieces each: enough to test
# every stage in seconds.
SMALL_STYLES = ["bach_chorale", "monteverdi_madrigal", "fiddle_tune", "string_quartet"]
SMALL_N = 3


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> Path:
    from musiclust.datasets import corpus

    root = tmp_path_factory.mktemp("corpus")
    corpus.build(root, n_per_class=SMALL_N, styles=SMALL_STYLES, n_jobs=2, progress=False)
    return root


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present on this machine")
    return SHARED_DATA


@pytest.fixture(scope="session")
def hybrid_feature_cache(tmp_path_factory) -> Path:
    """One feature cache for every test that reads hybrid_songs' 200 mp3s: each file is decoded and run through
    musicnn once per test session (the cache is keyed by file content), and no test writes into the checkout's
    music_data/cache."""
    return tmp_path_factory.mktemp("hybrid_cache")
