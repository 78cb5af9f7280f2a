#!/usr/bin/env python
"""Run the clustering study and write results to a new folder under results/ (see --help)."""

import sys

from musiclust.cli import run_experiments_main

if __name__ == "__main__":
    sys.exit(run_experiments_main())
