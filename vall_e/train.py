"""`python -m vall_e.train` (see vall_e/cli/train.py)."""
import sys

from vall_e.cli.common import run_main
from vall_e.cli.train import main

if __name__ == "__main__":
    sys.exit(run_main(main))
