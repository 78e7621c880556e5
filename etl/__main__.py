"""`python -m etl COMMAND`: the command line (suivi/cli.py)."""

import sys

from suivi.cli import main

if __name__ == "__main__":
    sys.exit(main())
