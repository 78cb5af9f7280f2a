#!/usr/bin/env python
"""Fetch GTZAN into music_data/gtzan/ (see --help); run once on a machine with internet."""

import sys

from musiclust.cli import download_gtzan_main

if __name__ == "__main__":
    sys.exit(download_gtzan_main())
