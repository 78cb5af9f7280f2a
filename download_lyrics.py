#!/usr/bin/env python
"""Fetch a lyrics source into music_data/lyrics/<source>/ (see --help); run once on a machine with internet."""

import sys

from musiclust.cli import download_lyrics_main

if __name__ == "__main__":
    sys.exit(download_lyrics_main())
