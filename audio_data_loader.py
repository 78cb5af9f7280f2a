#!/usr/bin/env python
"""Build (if needed) and inspect a dataset: `python audio_data_loader.py corpus` (see --help)."""

import sys

from musiclust.cli import audio_data_loader_main

if __name__ == "__main__":
    sys.exit(audio_data_loader_main())
