"""``python -m vall_e.data {prepare,synthetic} ...``; parsing lives in ``vall_e.cli.prepare``."""
import sys

from vall_e.cli.prepare import main

if __name__ == "__main__":
    sys.exit(main())
