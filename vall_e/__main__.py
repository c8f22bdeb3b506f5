"""`python -m vall_e TEXT REFERENCE OUT [flags]` (see vall_e/cli/synthesize.py)."""
import sys

from vall_e.cli.common import run_main
from vall_e.cli.synthesize import main

if __name__ == "__main__":
    sys.exit(run_main(main))
