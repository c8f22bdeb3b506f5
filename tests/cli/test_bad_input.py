"""Issue 21: bad input through the real entry points, in subprocesses. Each case either does
its work or exits 2 with one line; none prints a traceback, loses text silently, or leaves a
file half-written. (Checks that need no process start are in test_synthesize_errors.py.)"""
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def vall_e(*args, cwd=REPO, module="vall_e", timeout=600):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout,
                          preexec_fn=lambda: os.umask(0o022))


def assert_one_line(proc, *needles):
    err = proc.stderr.strip()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err


def leftovers(directory: Path) -> list:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


# ----- 1: long text is spoken whole, a cap still hit is named ----------------------------------
def test_long_text_is_spoken_whole_with_a_progress_bar(tiny_run, tmp_path):
    text = " ".join(f"Sentence number {i} is here." for i in range(12))  # 12 sentences
    out = tmp_path / "long.wav"
    proc = vall_e(text, tiny_run.reference(), out, "--model", tiny_run.checkpoint,
                  "--max-ar-steps", "15", "--seed", "0")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "12 sentences" in proc.stderr and "sentence/s" in proc.stderr  # summary, tqdm bar
    # 12 pieces of at most 15 frames (0.2 s at 75 Hz) and 11 pauses of 0.3 s
    seconds = sf.info(out).duration
    assert 11 * 0.3 < seconds <= 12 * 0.2 + 11 * 0.3 + 0.01
    # the tiny model never stops by itself: every sentence is named, none silently lost
    warned = [line for line in proc.stderr.splitlines() if "reached --max-ar-steps 15" in line]
    assert len(warned) == 12 and "Sentence number 11 is here." in proc.stderr


# ----- 2: output paths --------------------------------------------------------------------------
def test_bad_output_paths_fail_before_synthesis(tiny_run, tmp_path):
    ref = tmp_path / "ref.wav"
    shutil.copy(tiny_run.reference(), ref)
    before = ref.read_bytes()
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    cases = [(tmp_path, "directory"), (ref, "reference"), (tmp_path / "o.mp4", "'.mp4'"),
             (tmp_path / "noext", "no extension"), (blocker / "o.wav", "not a directory"),
             (Path("/proc/vall_e_test.wav"), "not writable")]
    for out, needle in cases:
        started = time.perf_counter()
        proc = vall_e("Hello there.", ref, out, "--model", tiny_run.checkpoint)
        assert_one_line(proc, needle)
        assert "AR steps" not in proc.stderr and time.perf_counter() - started < 60
    assert ref.read_bytes() == before and leftovers(tmp_path) == []


def test_extension_picks_format_and_modes_are_usual(tiny_run, tmp_path):
    common = ["--model", tiny_run.checkpoint, "--max-ar-steps", "10", "--seed", "0", "--quiet"]
    formats = {"o.wav": "WAV", "o.flac": "FLAC", "o.ogg": "OGG"}
    if "MP3" in sf.available_formats():
        formats["o.mp3"] = "MP3"  # before: WAV bytes under an .mp3 name
    for name, fmt in formats.items():
        proc = vall_e("Hi.", tiny_run.reference(), tmp_path / name, *common)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert sf.info(tmp_path / name).format == fmt
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644  # umask 022, not 0600
    kept = tmp_path / "private.wav"
    kept.write_bytes(b"")
    kept.chmod(0o600)
    assert vall_e("Hi.", tiny_run.reference(), kept, *common).returncode == 0
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600 and sf.info(kept).frames > 0
    assert leftovers(tmp_path) == []


# ----- 3: resume with a failing config, empty YAML ----------------------------------------------
def snapshot(directory: Path) -> dict:
    return {str(p.relative_to(directory)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_failed_resume_changes_nothing_in_the_run(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run.run_dir, run)
    before = snapshot(run)
    config = yaml.safe_load(tiny_run.config_path.read_text())
    config["train"]["output_dir"] = str(run)
    config["train"]["learning_rate"] = 0.123  # a change that would show in config.yaml
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    proc = vall_e("--yaml", bad, "--data", tmp_path / "no_such_data", "--resume", "--quiet",
                  module="vall_e.train")
    assert_one_line(proc, "no_such_data")
    assert snapshot(run) == before  # before the fix: config.yaml held learning_rate 0.123


def test_empty_yaml_is_refused_and_writes_nothing(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("# only a comment\n")
    proc = vall_e("--yaml", empty, "--data", tmp_path, cwd=tmp_path, module="vall_e.train")
    assert_one_line(proc, "empty")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.yaml"]  # no runs/default here


# ----- 6: punctuation and foreign text ----------------------------------------------------------
def test_punctuation_is_quiet_and_foreign_script_is_one_line(tmp_path):
    # the shipped default model, whose vocabulary has no ; : " ( ) - (before: a two-line Python
    # warning for each, even under --quiet)
    common = ["kumo", tmp_path / "o.wav", "--seed", "0", "--quiet"]
    proc = vall_e('Wait: here; "quoted" (aside) - done.', *common)
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr
    for text in ["😀😀", "你好世界"]:  # before: audio of "Chinese letter" / "grinning face"
        assert_one_line(vall_e(text, *common), "nothing to speak")
    proc = vall_e("Hello 你好 there.", *common)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "warning: skipped 2 character(s) that en-us cannot speak (emoji, symbols or another "
        "script): '你好'"]


# ----- 7: corrupted weights ---------------------------------------------------------------------
def flip_a_bit(weights: Path) -> None:
    data = bytearray(weights.read_bytes())
    header = int.from_bytes(data[:8], "little")
    middle = 8 + header + (len(data) - 8 - header) // 2
    data[middle] ^= 0x04  # a low mantissa bit: finite, silent without a checksum
    weights.write_bytes(bytes(data))


def test_a_flipped_bit_in_the_weights_is_one_line(tiny_run, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(tiny_run.checkpoint, model)
    flip_a_bit(model / "model.safetensors")
    proc = vall_e("Hello.", tiny_run.reference(), tmp_path / "o.wav", "--model", model)
    assert_one_line(proc, "model.safetensors", "checksum")
    assert not (tmp_path / "o.wav").exists()


# ----- 8: Ctrl-C ------------------------------------------------------------------------------
@pytest.mark.parametrize("delay", [0.3, 1.0, 2.0, 4.0])
def test_ctrl_c_is_one_line_and_exit_130(tiny_run, tmp_path, delay):
    text = " ".join(f"Sentence {i} goes on." for i in range(200))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "vall_e", text, str(tiny_run.reference()),
                             str(tmp_path / "o.wav"), "--model", str(tiny_run.checkpoint)],
                            cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)  # 0.3 s: still importing torch; later: loading, synthesizing
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and err.strip().splitlines()[-1].endswith("interrupted")
    assert list(tmp_path.iterdir()) == []  # no partial file, no temp file
