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
