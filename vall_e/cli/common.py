"""Shared CLI plumbing: user errors are one line on stderr and exit status 2, Python warnings
one ``warning: ...`` line each (no source line, no file path), Ctrl-C one line and status 130."""
from __future__ import annotations

import sys
import warnings
from typing import Callable

from vall_e.errors import VallEError


def run_main(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Call ``main(argv)``; a VallEError (bad input) prints ``error: ...`` and returns 2."""
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            return main(argv)
    except VallEError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Show a warning as ``warning: <message>`` on one line of stderr (Python's default prints
    the file, the line number and the source line: two lines that mean nothing to a user)."""
    print(f"warning: {' '.join(str(message).split())}", file=file or sys.stderr)
