"""RTF of the main command by torch thread count and OpenMP wait policy (issue 21, item 5).

    python scripts/bench_threads.py 1:default,2:default,2:PASSIVE,2:ACTIVE,2:300000 3

runs `python -m vall_e TEXT kumo OUT --threads N` with POLICY (`default`: the CLI's own, a
bounded spin; PASSIVE or ACTIVE: OMP_WAIT_POLICY; a number: GOMP_SPINCOUNT), REPS times per
pair, and prints each RTF (from the command's summary line: synthesis only, not the model load)
and their median. Run it on an idle machine and beside a busy one (another process on every
core) to see what a default has to survive; the numbers of record are in docs/bad-input.md.
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEXT = "The quick brown fox jumps over the lazy dog, and then it runs away."


def rtf(threads: int, policy: str, seed: int, out: Path) -> float | None:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    if policy.isdigit():
        env["GOMP_SPINCOUNT"] = policy
    elif policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    cmd = [sys.executable, "-m", "vall_e", TEXT, "kumo", str(out), "--seed", str(seed),
           "--threads", str(threads)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    found = re.search(r"RTF ([0-9.]+)", proc.stderr)
    if not found:
        print(proc.stderr[-800:], file=sys.stderr)
        return None
    return float(found.group(1))


def main() -> None:
    pairs = [(int(t), policy) for t, policy in (c.split(":") for c in sys.argv[1].split(","))]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory() as tmp:
        for threads, policy in pairs:
            values = [rtf(threads, policy, seed, Path(tmp) / "out.wav") for seed in range(reps)]
            ok = [v for v in values if v is not None]
            median = statistics.median(ok) if ok else float("nan")
            print(f"threads={threads} policy={policy}: RTF {values}, median {median:.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
