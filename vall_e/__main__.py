"""`python -m vall_e TEXT REFERENCE OUT [flags]` (see vall_e/cli/synthesize.py)."""
import os
import sys

if __name__ == "__main__":
    # Threads that wait for each other sleep instead of spinning (GNU OpenMP reads this when
    # torch loads it, so it is set before any import): beside another busy process --threads 2
    # measured RTF 0.26 passive against 1.11 with the default spin (docs/bad-input.md).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from vall_e.cli.common import exit_on_interrupt, run_main

    exit_on_interrupt()  # Ctrl-C from here on: one line, exit 130, during imports too
    from vall_e.cli.synthesize import main

    sys.exit(run_main(main))
