"""Fixtures for the data tests: one random-weight EnCodec per session (2 levels, fast), and a
small synthetic corpus that each test gets its own copy of (tests add and break files)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vall_e.codecs import AudioCodec, get_codec, save_random_codec
from vall_e.config import CodecConfig, Config, DataConfig
from vall_e.data.synthetic import make_synthetic_corpus

N_SPEAKERS = 2
N_PER_SPEAKER = 3


@pytest.fixture(scope="session")
def codec_dir(tmp_path_factory) -> Path:
    return Path(save_random_codec("encodec", tmp_path_factory.mktemp("encodec")))


@pytest.fixture(scope="session")
def codec_config(codec_dir) -> CodecConfig:
    return CodecConfig(name="encodec", path=str(codec_dir), n_levels=2)


@pytest.fixture(scope="session")
def codec(codec_config) -> AudioCodec:
    """Loaded once: passing it to prepare(codec=...) saves a model load per call."""
    return get_codec(codec_config)


@pytest.fixture
def config(codec_config) -> Config:
    # Small shards so that a handful of utterances already spans several files.
    return Config(codec=codec_config, data=DataConfig(shard_size=4, min_seconds=0.3))


@pytest.fixture(scope="session")
def synthetic_source(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    # Two- or three-word sentences (~1-1.5 s) keep EnCodec's CPU time per test low.
    return make_synthetic_corpus(out, n_speakers=N_SPEAKERS, n_utterances=N_PER_SPEAKER, seed=1,
                                 words=(2, 3))


@pytest.fixture
def corpus(tmp_path, synthetic_source) -> Path:
    """A fresh copy of the synthetic corpus in layout (a): <speaker>/<id>.wav + <id>.txt."""
    return Path(shutil.copytree(synthetic_source, tmp_path / "corpus"))


def _to_ljspeech(src: Path, dst: Path) -> Path:
    """Rewrite layout (a) as LJSpeech: metadata.csv (id|text|normalized_text) + wavs/<id>.wav."""
    (dst / "wavs").mkdir(parents=True)
    lines = []
    for wav in sorted(src.glob("*/*.wav")):
        utt_id = f"{wav.parent.name}_{wav.stem}"
        shutil.copy(wav, dst / "wavs" / f"{utt_id}.wav")
        text = wav.with_suffix(".txt").read_text().strip()
        lines.append(f"{utt_id}|{text.upper()}|{text}")
    (dst / "metadata.csv").write_text("\n".join(lines) + "\n")
    return dst


@pytest.fixture
def ljspeech_corpus(tmp_path, synthetic_source) -> Path:
    """The synthetic corpus in layout (b); the folder name is the speaker."""
    return _to_ljspeech(synthetic_source, tmp_path / "LJTest")
