"""model.alignment: pointer -- losses read durations; the unaligned model is unchanged."""
import pytest
import torch

from vall_e.config import ModelConfig
from vall_e.errors import ConfigError
from vall_e.models.ar_nar import ARNARModel


def _batch():
    text = [torch.tensor([2, 5, 6, 3]), torch.tensor([2, 7, 3])]
    durations = [torch.tensor([1, 2, 3, 1]), torch.tensor([2, 2, 1])]
    codes = [torch.randint(0, 8, (2, int(d.sum()))) for d in durations]
    prompts = [torch.randint(0, 8, (2, 3))] * 2
    return text, prompts, codes, durations


def test_pointer_losses_train_and_report_their_parts():
    torch.manual_seed(0)
    config = ModelConfig(d_model=32, n_layers=2, n_heads=2, alignment="pointer")
    model = ARNARModel(config, 10, 2, 8)
    text, prompts, codes, durations = _batch()
    loss, accuracy = model.ar_loss(text, prompts, codes, durations=durations)
    assert set(model.last_ar_metrics) == {"ar_code_loss", "duration_loss", "duration_acc"}
    loss.backward()
    assert model.duration_head.weight.grad is not None
    assert model.pointer.token.weight.grad.abs().sum() > 0
    nar_loss, _ = model.nar_loss(text, prompts, codes, [1, 1], durations=durations)
    assert torch.isfinite(nar_loss)


def test_a_pointer_model_without_durations_is_a_clear_error():
    model = ARNARModel(ModelConfig(d_model=32, n_layers=2, n_heads=2, alignment="pointer"), 10, 2, 8)
    text, prompts, codes, _ = _batch()
    with pytest.raises(ValueError, match="durations"):
        model.ar_loss(text, prompts, codes)


def test_the_unaligned_model_has_no_pointer_weights_and_ignores_nothing():
    model = ARNARModel(ModelConfig(d_model=32, n_layers=2, n_heads=2), 10, 2, 8)
    assert model.pointer is None and not any("pointer" in k for k in model.state_dict())
    text, prompts, codes, durations = _batch()
    loss, _ = model.ar_loss(text, prompts, codes)
    assert torch.isfinite(loss)


@pytest.mark.parametrize("changes, message", [
    ({"alignment": "soft"}, "not supported"),
    ({"alignment": "pointer", "guided_attention": 1.0}, "guided_attention"),
    ({"alignment": "pointer", "ar_self_inputs": 0.3}, "ar_self_inputs"),
    ({"alignment": "pointer", "family": "llm", "layout": "flat"}, "AR\\+NAR"),
])
def test_alignment_config_errors(changes, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig(**changes).validate()
