"""model.alignment: durations -- masked level-0 loss and the duration pass train; config rules."""
import pytest
import torch

from vall_e.config import ModelConfig
from vall_e.errors import ConfigError
from vall_e.models.ar_nar import ARNARModel
from vall_e.models.parallel_level0 import mask_share, training_masks
from tests.models.test_pointer_model import _batch  # the same toy batch with durations


def _model() -> ARNARModel:
    torch.manual_seed(0)
    return ARNARModel(ModelConfig(d_model=32, n_layers=2, n_heads=2, alignment="durations"), 10, 2, 8)


def test_durations_losses_train_every_new_part_and_report_them():
    model = _model()
    text, prompts, codes, durations = _batch()
    loss, accuracy = model.ar_loss(text, prompts, codes, durations=durations)
    assert set(model.last_ar_metrics) == {"level0_loss", "duration_loss", "duration_acc"}
    assert 0 <= float(accuracy) <= 1
    loss.backward()
    assert model.durations_mode.mask.grad.abs().sum() > 0
    assert model.durations_mode.duration_mode.grad.abs().sum() > 0
    assert model.duration_head.weight.grad.abs().sum() > 0
    assert model.pointer.token.weight.grad.abs().sum() > 0
    nar_loss, _ = model.nar_loss(text, prompts, codes, [1, 1], durations=durations)
    assert torch.isfinite(nar_loss)


def test_a_durations_model_without_durations_is_a_clear_error():
    text, prompts, codes, _ = _batch()
    with pytest.raises(ValueError, match="alignment: durations needs"):
        _model().ar_loss(text, prompts, codes)


def test_training_masks_cover_one_to_all_frames_on_the_cosine_schedule():
    generator = torch.Generator().manual_seed(0)
    masks = training_masks([40] * 400, "cpu", generator)
    counts = torch.tensor([int(m.sum()) for m in masks]).float()
    assert int(counts.min()) >= 1 and int(counts.max()) == 40
    # E[cos(u pi/2)] = 2/pi: about 64% of the frames are masked on average
    assert abs(float(counts.mean()) / 40 - 2 / torch.pi) < 0.05
    assert float(mask_share(0.0)) == 1.0 and float(mask_share(1.0)) < 1e-6


@pytest.mark.parametrize("changes, message", [
    ({"alignment": "durations", "level0_steps": 0}, "level0_steps"),
    ({"alignment": "durations", "guided_attention": 1.0}, "guided_attention"),
    ({"alignment": "durations", "family": "llm", "layout": "flat"}, "AR\\+NAR"),
])
def test_durations_config_errors(changes, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig(**changes).validate()
