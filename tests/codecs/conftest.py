"""Shared codec fixtures: random weights are saved once per session, then loaded like real ones."""
from __future__ import annotations

import pytest
import torch

from vall_e.codecs import get_codec, save_random_codec
from vall_e.config import CodecConfig


@pytest.fixture(scope="session")
def encodec_dir(tmp_path_factory):
    return save_random_codec("encodec", tmp_path_factory.mktemp("encodec"), seed=0)


@pytest.fixture(scope="session")
def encodec(encodec_dir):
    return get_codec(CodecConfig(name="encodec", path=str(encodec_dir), n_levels=8))


@pytest.fixture(scope="session")
def snac(snac_dir):
    return get_codec(CodecConfig(name="snac", path=str(snac_dir), n_levels=7))


def speechlike(batch: int, seconds: float, sample_rate: int = 24000, seed: int = 0) -> torch.Tensor:
    """[B, S] float audio: noise under a slow random envelope plus a tone, peak < 1."""
    g = torch.Generator().manual_seed(seed)
    n = int(seconds * sample_rate)
    t = torch.arange(n) / sample_rate
    env = torch.rand(batch, n // 1200 + 1, generator=g).repeat_interleave(1200, dim=1)[:, :n]
    wav = 0.2 * torch.randn(batch, n, generator=g) * env + 0.3 * torch.sin(2 * torch.pi * 220 * t)
    return wav.clamp(-1, 1)


@pytest.fixture(scope="session")
def make_audio():
    """The ``speechlike(batch, seconds, sample_rate=24000, seed=0)`` generator as a fixture."""
    return speechlike
