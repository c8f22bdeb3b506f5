"""`python -m vall_e TEXT REFERENCE OUT [flags]` (see vall_e/cli/synthesize.py)."""
import sys

if __name__ == "__main__":
    # OpenMP threads spin only briefly at a barrier, then sleep (read when torch loads libgomp,
    # so it is set before any other import): vall_e/cli/threads.py has the measurements.
    from vall_e.cli.threads import default_wait_policy

    default_wait_policy()
    from vall_e.cli.common import exit_on_interrupt, run_main

    exit_on_interrupt()  # Ctrl-C from here on: one line, exit 130, during imports too
    from vall_e.cli.synthesize import main

    sys.exit(run_main(main))
