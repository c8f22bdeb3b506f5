"""`python -m vall_e.finetune --yaml RECIPE` (see vall_e/cli/finetune.py)."""
import sys

from vall_e.cli.common import run_main
from vall_e.cli.finetune import main

if __name__ == "__main__":
    sys.exit(run_main(main))
