"""Test-wide settings, the shared tiny pipeline, and the two test tiers.

``tiny_run`` builds, once per session, the whole foundation path through the real entry points
as subprocesses: a random-weight EnCodec -> a synthetic corpus -> `vall_e.data prepare` ->
`vall_e.train` (2 layers, width 32, a few dozen steps). Tests that need a trained checkpoint
use it instead of training their own.

Two tiers: ``python -m pytest -m "not slow" -n 2 --dist worksteal`` (the inner loop, under a
minute) and the full suite (CI). A test is ``slow`` when it is marked so (subprocess pipelines, notebooks, DDP,
codec training, servers, the browser) or when it needs ``tiny_run`` / ``tiny_llm_run``: those
fixtures train through subprocesses, which alone costs more than the whole fast tier.
"""
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

# Keep compiled bytecode (ours and pytest's rewritten test modules) between runs even where the
# environment sets PYTHONDONTWRITEBYTECODE: recompiling ~300 files costs seconds every run.
sys.dont_write_bytecode = False
if os.environ.get("PYTEST_XDIST_WORKER"):  # `-n 2`: one torch thread per worker, not two each
    os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
_TRAINED_FIXTURES = {"tiny_run", "tiny_llm_run"}
# slow tests (seconds each) in files owned elsewhere, marked here instead of in place
_SLOW_TESTS = {
    "tests/inference/test_parallel_decode.py::test_a_few_steps_of_training_learn_a_planted_phoneme_to_code_map",
    "tests/inference/test_parallel_stream.py::test_speed_scales_the_length",
    "tests/inference/test_parallel_stream.py::test_streamed_chunks_are_the_one_pass_audio",
}


def pytest_collection_modifyitems(items):
    """Mark ``slow`` every test whose fixtures (direct or not) include a trained tiny run, and
    the tests named in ``_SLOW_TESTS``."""
    for item in items:
        if _TRAINED_FIXTURES & set(getattr(item, "fixturenames", ())) or \
                item.nodeid.split("[")[0] in _SLOW_TESTS:
            item.add_marker(pytest.mark.slow)


def run_module(*args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run `python -m <args>` from the repository root and capture its output."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"`{' '.join(args)}` failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


@dataclass
class TinyRun:
    root: Path
    config_path: Path
    corpus: Path
    data: Path
    run_dir: Path

    @property
    def checkpoint(self) -> Path:
        return self.run_dir / "latest"

    def reference(self) -> Path:
        return sorted(self.corpus.rglob("*.wav"))[0]


def write_tiny_config(root: Path, codec_dir: Path, run_dir: Path, base: str = "tiny.yaml",
                      **train) -> Path:
    config = yaml.safe_load((REPO / "configs" / base).read_text())
    config["codec"]["path"] = str(codec_dir)
    config["train"]["output_dir"] = str(run_dir)
    config["train"].update(train)
    path = root / f"{run_dir.name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="session")
def tiny_codec_dir(tmp_path_factory) -> Path:
    from vall_e.codecs import save_random_codec

    return save_random_codec("encodec", tmp_path_factory.mktemp("codec") / "encodec")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_codec_dir) -> TinyRun:
    root = tmp_path_factory.mktemp("tiny")
    corpus, data, run_dir = root / "corpus", root / "data", root / "run"
    config_path = write_tiny_config(root, tiny_codec_dir, run_dir, max_steps=60)
    run_module("vall_e.data", "synthetic", "--output", str(corpus), "--speakers", "2",
               "--utterances", "8", "--seed", "0")
    run_module("vall_e.data", "prepare", "--yaml", str(config_path), "--input", str(corpus),
               "--output", str(data), "--quiet")
    run_module("vall_e.train", "--yaml", str(config_path), "--data", str(data), "--quiet")
    return TinyRun(root, config_path, corpus, data, run_dir)


@pytest.fixture(scope="session")
def tiny_llm_run(tiny_run) -> TinyRun:
    """A flat-layout LLM-TTS (2 layers, width 32) trained on ``tiny_run``'s prepared data."""
    run_dir = tiny_run.root / "llm_run"
    config_path = write_tiny_config(tiny_run.root, Path(_codec_path(tiny_run.config_path)), run_dir,
                                    base="tiny_llm.yaml", max_steps=60)
    run_module("vall_e.train", "--yaml", str(config_path), "--data", str(tiny_run.data), "--quiet")
    return TinyRun(tiny_run.root, config_path, tiny_run.corpus, tiny_run.data, run_dir)


def _codec_path(config_path: Path) -> str:
    return yaml.safe_load(config_path.read_text())["codec"]["path"]


@pytest.fixture(scope="session")
def snac_dir(tmp_path_factory) -> Path:
    from vall_e.codecs import save_random_codec

    return save_random_codec("snac", tmp_path_factory.mktemp("snac") / "snac", seed=0)


@pytest.fixture(scope="session")
def orpheus_dir(tmp_path_factory) -> Path:
    """A random-weight Orpheus-shaped Hugging Face directory (vocab covers the Orpheus ids)."""
    from vall_e.models.orpheus_random import save_random_orpheus

    return save_random_orpheus(tmp_path_factory.mktemp("orpheus") / "orpheus", seed=0)


@pytest.fixture(scope="session")
def random_checkpoints(tmp_path_factory, tiny_codec_dir) -> dict:
    """Random-weight tiny checkpoints of both families, built in well under a second each
    (quantize / compile / export tests). d_model 32 and a SwiGLU width of 64 let every Linear
    take int4's CPU kernel (input features a multiple of 32) and int8's (of 16)."""
    from vall_e.models.random_checkpoint import save_random_checkpoint

    root = tmp_path_factory.mktemp("random_ckpt")
    return {family: save_random_checkpoint(family, root / family, tiny_codec_dir, ffn_mult=3.0,
                                           max_ar_steps=24, fan_in_init=True)
            for family in ("ar_nar", "llm")}


@pytest.fixture(scope="session")
def reference_wav(tmp_path_factory) -> Path:
    """One second of a modulated tone at 24 kHz."""
    import torch

    from vall_e.audio import save_audio

    path = tmp_path_factory.mktemp("ref") / "reference.wav"
    t = torch.arange(24000) / 24000
    save_audio(path, 0.3 * torch.sin(2 * torch.pi * 180 * t) * (1 + torch.sin(3 * t)), 24000)
    return path


@pytest.fixture(scope="session")
def mel_run(tmp_path_factory):
    """An untrained 2-layer AR+NAR over a random 2-level mel_rvq codec, saved as a checkpoint."""
    import torch

    from vall_e.codecs.base import CodecInfo
    from vall_e.codecs.mel.codec import save_random_mel
    from vall_e.codecs.mel.vocoder import VocoderSpec
    from vall_e.config import Config
    from vall_e.models.checkpoint import build_model, save_checkpoint
    from vall_e.text import phonemize
    from vall_e.text.tokenizer import PhonemeTokenizer

    root = tmp_path_factory.mktemp("default")
    codec_dir = save_random_mel(root / "codec", levels=2, codebook_size=64,
                                vocoder=VocoderSpec(dim=16, intermediate=32, blocks=1))
    config = Config.from_dict({
        "model": {"d_model": 32, "n_layers": 2, "n_heads": 2, "dropout": 0.0},
        "codec": {"name": "mel_rvq", "path": str(codec_dir), "n_levels": 2},
        "inference": {"max_ar_steps": 8, "input_prompt_length": 1.0},
    })
    tokenizer = PhonemeTokenizer.from_phoneme_lists([phonemize("hello there, how are you", "en-us")])
    info = CodecInfo("mel_rvq", 24000, 50.0, 2, 64)
    torch.manual_seed(0)
    model = build_model(config, tokenizer, info)
    save_checkpoint(root / "run", model, config, tokenizer, info, step=7)
    return root, root / "run", codec_dir
