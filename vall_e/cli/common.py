"""Shared CLI plumbing: turn user errors into one line on stderr and exit status 2."""
from __future__ import annotations

import sys
from typing import Callable

from vall_e.errors import VallEError


def run_main(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Call ``main(argv)``; a VallEError (bad input) prints ``error: ...`` and returns 2."""
    try:
        return main(argv)
    except VallEError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
