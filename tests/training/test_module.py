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


def test_train_trainable_trains_only_the_named_parameters():
    from vall_e.training.module import make_optimizer

    config = Config.from_dict({"model": {"d_model": 32, "n_layers": 2, "n_heads": 2, "tasks": ["tts"]},
                               "train": {"trainable": ["text_embedding", "blocks.1"]}})
    model = ARNARModel(config.model, VOCAB, K, CODEBOOK)
    optimizer = make_optimizer(model, config)["optimizer"]
    trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
    names = {n for n, p in model.named_parameters() if id(p) in trained}
    assert names and all(n.startswith(("text_embedding.", "blocks.1.")) for n in names)
    assert all(not p.requires_grad for n, p in model.named_parameters() if n not in names)
    assert not any(n.startswith("blocks.10") for n in names)  # a prefix is a whole name part


@pytest.mark.parametrize("trainable, match", [(["no_such_module"], "names no parameter"),
                                              ([], "non-empty list")])
def test_train_trainable_that_names_nothing_is_refused(trainable, match):
    from vall_e.training.module import make_optimizer

    with pytest.raises(ConfigError, match=match):
        config = Config.from_dict({"model": {"d_model": 32, "n_layers": 2, "n_heads": 2},
                                   "train": {"trainable": trainable}})
        make_optimizer(ARNARModel(config.model, VOCAB, K, CODEBOOK), config)
