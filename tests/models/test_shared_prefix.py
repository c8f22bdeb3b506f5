"""model.shared_prefix: the prefix is isolated (its states ignore the frames), both losses train,
windows crop as configured; config rules."""
import pytest
import torch

from vall_e.config import ModelConfig
from vall_e.errors import ConfigError
from vall_e.models import shared_prefix
from vall_e.models.ar_nar import ARNARModel
from tests.models.test_pointer_model import _batch  # the toy batch with durations


def _model(**changes) -> ARNARModel:
    torch.manual_seed(0)
    config = ModelConfig(d_model=32, n_layers=2, n_heads=2, alignment="durations",
                         shared_prefix=True, **changes)
    return ARNARModel(config, 10, 2, 8).eval()


def test_prefix_states_do_not_depend_on_the_frames_that_follow():
    model = _model()
    text, prompts, codes, durations = _batch()
    prefix = shared_prefix.prefix_sequence(model, text[0], prompts[0])
    positions = shared_prefix.prefix_positions(model, len(text[0]), prompts[0].shape[-1])
    outputs = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        frames = torch.randn(7, 32)
        x = torch.cat([prefix, frames])[None]
        pos = torch.cat([positions, torch.arange(1, 8, dtype=torch.float32)])[None]
        hidden = model.hidden_states(x, pos, torch.ones(1, x.shape[1], dtype=torch.bool),
                                     causal=False, isolated_prefix=torch.tensor([prefix.shape[0]]))
        outputs.append(hidden[0])
    n = prefix.shape[0]
    assert torch.allclose(outputs[0][:n], outputs[1][:n], atol=1e-6)
    assert not torch.allclose(outputs[0][n:], outputs[1][n:])  # the frames still see each other


def test_both_losses_train_the_parts_they_use():
    model = _model().train()
    text, prompts, codes, durations = _batch()
    loss, accuracy = model.ar_loss(text, prompts, codes, durations=durations)
    assert set(model.last_ar_metrics) == {"level0_loss", "duration_loss", "duration_acc"}
    assert 0 <= float(accuracy) <= 1
    loss.backward()
    for tensor in (model.durations_mode.mask, model.duration_head.weight, model.pointer.token.weight,
                   model.text_embedding.weight):
        assert tensor.grad.abs().sum() > 0
    # the duration pass's mode token is not part of this layout
    assert model.durations_mode.duration_mode.grad is None
    nar_loss, nar_acc = model.nar_loss(text, prompts, codes, [1, 1], durations=durations)
    assert torch.isfinite(nar_loss) and 0 <= float(nar_acc) <= 1


def test_a_few_steps_learn_the_level0_codes():
    model = _model().train()
    text, prompts, codes, durations = _batch()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        optimizer.zero_grad()
        loss, _ = model.ar_loss(text, prompts, codes, durations=durations)
        loss.backward()
        optimizer.step()
    assert float(model.last_ar_metrics["level0_loss"]) < 0.5


def test_crop_windows_follow_the_probability_and_minimum():
    generator = torch.Generator().manual_seed(0)
    windows = [shared_prefix.crop_window(100, 0.5, generator) for _ in range(400)]
    cropped = [w for w in windows if w != (0, 100)]
    assert 0.4 < len(cropped) / 400 < 0.6
    assert all(end - start >= shared_prefix.MIN_CROP_FRAMES and 0 <= start < end <= 100
               for start, end in cropped)
    assert shared_prefix.crop_window(10, 0.99, generator) == (0, 10)  # too short to cut
    assert all(shared_prefix.crop_window(100, 0.0, generator) == (0, 100) for _ in range(20))


@pytest.mark.parametrize("changes, message", [
    ({"alignment": "pointer", "shared_prefix": True}, "need model.alignment: durations"),
    ({"alignment": "durations", "frame_crop_probability": 0.3}, "needs model.shared_prefix"),
    ({"alignment": "durations", "shared_prefix": True, "frame_crop_probability": 1.0}, "\\[0, 1\\)"),
])
def test_shared_prefix_config_errors(changes, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig(**changes).validate()
