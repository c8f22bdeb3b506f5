"""`python -m vall_e.eval` (see vall_e/cli/eval.py)."""
import sys

from vall_e.cli.common import run_main
from vall_e.cli.eval import main

if __name__ == "__main__":
    sys.exit(run_main(main))
