"""``--threads``: how many CPU threads torch uses for one synthesis.

The default is measured, not torch's (one thread per core): the default model's decode step is
small matrix products, where a second thread gains little on an idle machine and, when another
process keeps a core busy, makes every step wait at an OpenMP barrier for a thread that is not
running (RTF 11.6 against 0.47 with one thread in the issue that set this). See
``scripts/bench_threads.py`` and docs/bad-input.md for the numbers.
"""
from __future__ import annotations

import os

from vall_e.errors import ConfigError

DEFAULT_THREADS = 1
# How long an OpenMP thread spins at a barrier before it sleeps (GNU libgomp iterations, a few
# microseconds). A synthesis crosses thousands of barriers: with no spin (OMP_WAIT_POLICY=PASSIVE)
# each pays a wake-up, with libgomp's own long spin a thread whose partner's core is taken by
# another process burns its time slice. scripts/bench_threads.py, --threads 2, default model,
# median RTF (docs/benchmarks.md): idle 0.14 at 3000, 0.18 passive, 0.12 active; beside two busy
# processes 0.64 at 3000, 0.67 passive, 1.41 active.
SPIN_COUNT = 3000


def default_wait_policy(environ=os.environ) -> None:
    """Bound OpenMP's barrier spin unless the user chose a policy. Call before torch loads."""
    if "OMP_WAIT_POLICY" not in environ and "GOMP_SPINCOUNT" not in environ:
        environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)


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

