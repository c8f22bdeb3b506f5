"""--levels: an AR+NAR engine generates and decodes only the first N codec levels."""
from dataclasses import replace

import pytest
import torch

from vall_e.config import Config
from vall_e.errors import ConfigError
from vall_e.inference.engine import ARNAREngine
from vall_e.sampling import SamplingParams

PARAMS = SamplingParams(seed=0, ar_temp=0.0)


@pytest.fixture(scope="module")
def engine(tiny_run):
    return ARNAREngine.from_checkpoint(tiny_run.checkpoint, device="cpu")


def test_fewer_levels_keep_level_zero_and_decode_the_prefix(engine, tiny_run):
    full = engine.tts("one two", tiny_run.reference(), PARAMS, replace(engine.defaults, max_ar_steps=30))
    one = engine.tts("one two", tiny_run.reference(), PARAMS,
                     replace(engine.defaults, max_ar_steps=30, levels=1))
    assert full.codes.shape[0] == engine.model.n_levels and one.codes.shape[0] == 1
    assert torch.equal(one.codes[0], full.codes[0])  # the AR is untouched; the NAR stops early
    expected = engine.codec.decode_levels(full.codes[None], 1)[0]
    assert torch.allclose(one.audio, expected, atol=1e-5)


def test_impossible_level_counts_are_refused(engine, tiny_run):
    for bad in (0, engine.model.n_levels + 1):
        with pytest.raises(ConfigError, match="--levels must be between 1 and"):
            engine.tts("one", tiny_run.reference(), PARAMS, replace(engine.defaults, levels=bad))
    with pytest.raises(ConfigError, match="inference.levels must be between 1 and codec.n_levels"):
        Config.from_dict({"codec": {"n_levels": 2}, "inference": {"levels": 3}})
    with pytest.raises(ConfigError, match="inference.levels is for AR\\+NAR"):
        Config.from_dict({"model": {"family": "llm", "layout": "flat"}, "inference": {"levels": 1}})


def test_a_codec_without_residual_levels_refuses_a_prefix(engine, tiny_run, monkeypatch):
    monkeypatch.setattr(engine.codec, "residual", False)
    with pytest.raises(ConfigError, match="not residual"):
        engine.tts("one", tiny_run.reference(), PARAMS, replace(engine.defaults, levels=1))
