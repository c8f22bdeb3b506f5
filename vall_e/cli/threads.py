"""``--threads``: how many CPU threads torch uses for one synthesis.

The default is measured, not torch's (one thread per core): the default model's decode step is
small matrix products, where a second thread gains little on an idle machine and, when another
process keeps a core busy, makes every step wait at an OpenMP barrier for a thread that is not
running (RTF 11.6 against 0.47 with one thread in the issue that set this). See
``scripts/bench_threads.py`` and docs/bad-input.md for the numbers.
"""
from __future__ import annotations

from vall_e.errors import ConfigError

DEFAULT_THREADS = 1


def add_threads_flag(group) -> None:
    group.add_argument(
        "--threads", type=int,
        help=f"CPU threads for torch (default {DEFAULT_THREADS}: measured fastest for the default "
             "model on an idle machine and by far the safest beside other busy processes; more "
             "can help a large model on an idle many-core machine)")


def set_threads(threads: int | None) -> int:
    """Apply ``--threads`` (None: ``DEFAULT_THREADS``) to torch's intra-op pool; returns it."""
    if threads is None:
        threads = DEFAULT_THREADS
    if threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    import torch

    torch.set_num_threads(threads)
    return threads

