"""`python -m vall_e.quantize` (see vall_e/cli/quantize.py)."""
import sys

from vall_e.cli.common import run_main
from vall_e.cli.quantize import main

if __name__ == "__main__":
    sys.exit(run_main(main))
