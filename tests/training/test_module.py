import pytest
import torch

from vall_e.config import Config
from vall_e.errors import ConfigError
from vall_e.models.ar_nar import ARNARModel
from vall_e.training.module import ARNARLightning

from ..models.test_ar_nar import CODEBOOK, VOCAB, K, batch


def _count_nar_passes(nar_probability: float, stage: str, steps: int) -> int:
    config = Config.from_dict({"model": {"d_model": 32, "n_layers": 2, "n_heads": 2, "tasks": ["tts"]},
                               "train": {"nar_probability": nar_probability}})
    model = ARNARModel(config.model, VOCAB, K, CODEBOOK)
    module = ARNARLightning(model, config)
    calls = []
    original = model.nar_loss
    model.nar_loss = lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs)
    text, prompts, responses = batch()
    with torch.no_grad():
        for _ in range(steps):
            module._losses({"text": text, "prompt": prompts, "codes": responses}, stage)
    return len(calls)


def test_nar_trains_on_the_configured_share_of_steps_and_always_validates():
    assert _count_nar_passes(1.0, "train", 20) == 20
    assert 12 <= _count_nar_passes(0.5, "train", 40) <= 28  # ~20, seeded (18 today)
    assert _count_nar_passes(0.1, "val", 5) == 5


@pytest.mark.parametrize("value", [0.0, 1.5])
def test_impossible_nar_probability_is_refused(value):
    with pytest.raises(ConfigError, match="train.nar_probability must be in"):
        Config.from_dict({"train": {"nar_probability": value}})


def test_llm_family_refuses_nar_probability():
    with pytest.raises(ConfigError, match="train.nar_probability is for AR\\+NAR models"):
        Config.from_dict({"model": {"family": "llm", "layout": "flat"}, "train": {"nar_probability": 0.5}})
