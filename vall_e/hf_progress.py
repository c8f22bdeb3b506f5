"""Silence transformers' progress bars for one block (loads and saves of small models)."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_hf_progress() -> Iterator[None]:
    """transformers draws bars on stderr when loading and saving; they would break the CLI's
    one-line messages and --quiet. Silence them, then restore the user's setting."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
