"""`python -m vall_e.export` (see vall_e/cli/export.py)."""
import sys

from vall_e.cli.common import run_main
from vall_e.cli.export import main

if __name__ == "__main__":
    sys.exit(run_main(main))
