"""Shared CLI plumbing: user errors are one line on stderr and exit status 2, Python warnings
one ``warning: ...`` line each (no source line, no file path), Ctrl-C one line and status 130."""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import warnings
from collections.abc import Iterator
from typing import Callable

from vall_e.errors import VallEError


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a command-line mistake is one ``error:`` line and status 2 (argparse's own
    prints the whole usage first). A TEXT that starts with ``-`` reads as a flag: the message
    says to put it after ``--``."""

    def error(self, message: str):
        hint = f"see {self.prog} --help"
        if "unrecognized arguments" in message or "expected one argument" in message:
            hint += "; a text that starts with '-' goes after '--' (e.g. -- \"-1 degrees\" REF OUT)"
        print(f"error: {message} ({hint})", file=sys.stderr)
        raise SystemExit(2)


def run_main(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Call ``main(argv)``; a VallEError (bad input) prints ``error: ...`` and returns 2."""
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            return main(argv)
    except VallEError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # argparse: --help (0) or OneLineParser's one-line error (2)
        return exc.code if isinstance(exc.code, int) else 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Show a warning as ``warning: <message>`` on one line of stderr (Python's default prints
    the file, the line number and the source line: two lines that mean nothing to a user)."""
    print(f"warning: {' '.join(str(message).split())}", file=file or sys.stderr)


def exit_on_interrupt() -> None:
    """Make Ctrl-C print one line and exit 130 at once, wherever it lands (an entry point calls
    this before its imports). A KeyboardInterrupt raised inside an import can be caught and
    retried by the library being imported (numpy then fails with "cannot load module more than
    once"), and after one CPython's own exit re-raises SIGINT (status -2): ending the process
    from the handler avoids both. Code that must clean up on Ctrl-C runs under
    ``interrupts_raise``."""
    signal.signal(signal.SIGINT, _exit_interrupted)


def _exit_interrupted(signum, frame) -> None:
    print("\ninterrupted", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


@contextlib.contextmanager
def interrupts_raise() -> Iterator[None]:
    """Within the block Ctrl-C raises KeyboardInterrupt (so ``finally`` and ``except
    BaseException`` clean up, e.g. save_audio's temporary file); the handler before is restored
    after it."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
