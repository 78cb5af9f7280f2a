"""Dataset sources. A new source is one entry in `LOADERS` (name -> loader(**options) -> Dataset)."""

from __future__ import annotations

import inspect
import logging

from ..errors import MusiclustError
from . import corpus, folder, gtzan, lyrics, msd, table
from .base import Dataset

log = logging.getLogger(__name__)

LOADERS = {
    "corpus": corpus.load,
    "gtzan": gtzan.load,
    "table": table.load,
    "jamendolyrics": lyrics.load_jamendolyrics,
    "folder": folder.load,
    "lyrics": lyrics.load_lyrics_dataset,
    "msd": msd.load,
}


def load_dataset(name: str, **options) -> Dataset:
    """Load a dataset by registry name.

    Options the loader does not take (e.g. ``label_columns`` for the corpus) and ``None`` values are dropped, so one
    config shape serves every source.
    """
    if name not in LOADERS:
        raise MusiclustError(f"unknown dataset '{name}'; choose one of: {', '.join(sorted(LOADERS))}")
    loader = LOADERS[name]
    lyrics_table = options.pop("lyrics_table", None)
    encoding = options.get("encoding")
    accepted = inspect.signature(loader).parameters
    unused = sorted(k for k, v in options.items() if v is not None and k not in accepted)
    if unused:
        log.info("dataset '%s' ignores option(s) %s", name, unused)
    dataset = loader(**{k: v for k, v in options.items() if v is not None and k in accepted})
    if lyrics_table is not None:  # e.g. GTZAN audio with the user's lyrics table, paired by a real key
        dataset = lyrics.attach_lyrics(dataset, lyrics.read_lyrics_table(lyrics_table, encoding))
    return dataset


__all__ = ["Dataset", "LOADERS", "load_dataset"]
