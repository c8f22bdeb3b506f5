"""scripts/diagnose_stages.py runs end to end on the tiny run (real Whisper judge)."""
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # runs scripts/diagnose_stages.py as a subprocess


def test_every_stage_is_decoded_and_scored(tiny_run):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "scripts/diagnose_stages.py", "--model", str(tiny_run.checkpoint),
         "--data", str(tiny_run.data), "--items", "1", "--max-seconds", "100", "--oracle-rate"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = proc.stdout.split("| stage | CER over all items |")[1]
    for stage in ("codec", "nar", "ar-forced", "ar+nar"):
        row = next(line for line in summary.splitlines() if line.startswith(f"| {stage} |"))
        assert float(row.split("|")[2]) >= 0


def test_bad_item_count_is_a_one_line_error(tiny_run):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "scripts/diagnose_stages.py", "--model", str(tiny_run.checkpoint),
         "--data", str(tiny_run.data), "--items", "0"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stderr.strip().startswith("error: --items")
