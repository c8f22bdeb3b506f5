"""prepare -> train -> synthesize through the real entry points, and kill-then-resume."""
import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
import torch

from tests.conftest import REPO, run_module, write_tiny_config

pytestmark = pytest.mark.slow  # every test here runs the entry points as subprocesses


def read_metrics(run_dir):
    rows = []
    for path in sorted((run_dir / "logs").glob("version_*/metrics.csv")):
        with open(path) as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def test_training_loss_goes_down(tiny_run):
    losses = [float(r["train/loss"]) for r in read_metrics(tiny_run.run_dir) if r.get("train/loss")]
    assert len(losses) >= 5
    assert np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3])
    val = [float(r["val/ar_loss"]) for r in read_metrics(tiny_run.run_dir) if r.get("val/ar_loss")]
    assert val, "validation ran and logged the AR loss"


def test_exported_checkpoint_layout(tiny_run):
    names = sorted(p.name for p in tiny_run.checkpoint.iterdir())
    assert names == ["model.safetensors", "vall_e.json", "vocab.json"]
    assert json.loads((tiny_run.checkpoint / "vall_e.json").read_text())["step"] == 60


def test_synthesize_writes_a_finite_wav(tiny_run, tmp_path):
    out = tmp_path / "out.wav"
    proc = run_module("vall_e", "hello world", str(tiny_run.reference()), str(out),
                      "--model", str(tiny_run.checkpoint), "--seed", "0", "--max-ar-steps", "150")
    audio, rate = sf.read(out)
    assert rate == 24000 and audio.size > 0 and np.isfinite(audio).all()
    assert "AR steps" in proc.stderr


def test_same_seed_same_audio_and_yaml_selects_the_run(tiny_run, tmp_path):
    outs = []
    for name, source in (("a.wav", ["--model", str(tiny_run.checkpoint)]),
                         ("b.wav", ["--yaml", str(tiny_run.config_path)])):
        run_module("vall_e", "a short test", str(tiny_run.reference()), str(tmp_path / name),
                   *source, "--seed", "3", "--max-ar-steps", "100", "--quiet")
        outs.append(sf.read(tmp_path / name)[0])
    assert outs[0].shape == outs[1].shape and np.array_equal(outs[0], outs[1])


def test_stt_prints_phonemes(tiny_run):
    proc = run_module("vall_e", "", str(tiny_run.reference()), "--task", "stt",
                      "--model", str(tiny_run.checkpoint), "--ar-temp", "0", "--max-ar-steps", "40")
    assert proc.returncode == 0 and len(proc.stdout.strip().splitlines()) == 1


def test_killed_training_resumes_from_its_last_checkpoint(tiny_run, tiny_codec_dir, tmp_path):
    run_dir = tmp_path / "resumable"
    config = write_tiny_config(tmp_path, tiny_codec_dir, run_dir, max_steps=100000,
                               checkpoint_every_n_steps=5, val_every_n_steps=50)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "vall_e.train", "--yaml", str(config), "--data", str(tiny_run.data), "--quiet"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    last = run_dir / "lightning" / "last.ckpt"
    deadline = time.time() + 240
    while time.time() < deadline and not (run_dir / "checkpoints").exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        time.sleep(0.5)
    time.sleep(2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert last.exists()
    killed_at = json.loads((run_dir / "latest" / "vall_e.json").read_text())["step"]
    assert killed_at >= 5

    refused = run_module("vall_e.train", *cmd[3:], check=False)
    assert refused.returncode == 2 and "--resume" in refused.stderr

    target = killed_at + 10
    run_module("vall_e.train", *cmd[3:], "--resume", "--max-steps", str(target))
    assert json.loads((run_dir / "latest" / "vall_e.json").read_text())["step"] == target
    resumed_steps = [int(r["step"]) for r in read_metrics(run_dir) if r.get("train/loss")]
    assert min(s for s in resumed_steps if s >= killed_at) >= killed_at - 1
    assert len(list((run_dir / "logs").glob("version_*"))) == 2  # the first run's logs survive
    assert not math.isnan(float(read_metrics(run_dir)[-1].get("train/loss") or 0))


def test_a_moved_run_resumes_into_the_same_resume_file(tiny_run, tiny_codec_dir, tmp_path):
    first = tmp_path / "before"
    config = write_tiny_config(tmp_path, tiny_codec_dir, first, max_steps=4, checkpoint_every_n_steps=2,
                               val_every_n_steps=50)
    run_module("vall_e.train", "--yaml", str(config), "--data", str(tiny_run.data), "--quiet")
    moved = tmp_path / "after"
    shutil.move(first, moved)
    run_module("vall_e.train", "--yaml", str(config), "--data", str(tiny_run.data), "--quiet",
               "--output-dir", str(moved), "--resume", "--max-steps", "6")
    # one resume file, holding step 6: the next --resume continues from there, not from step 4
    assert [p.name for p in (moved / "lightning").iterdir()] == ["last.ckpt"]
    state = torch.load(moved / "lightning" / "last.ckpt", map_location="cpu", weights_only=True)
    assert state["global_step"] == 6
