"""The held-out loss a fine-tune reports before and after training scores the same random draws."""
import torch
from torch.utils.data import DataLoader

import vall_e.finetune.data as data


class DrawingOps:
    """A family whose loss is a random draw, as masks and NAR levels are in the real ones."""

    @staticmethod
    def batch_loss(model, batch):
        return torch.rand(()), len(batch["x"])


def test_heldout_loss_repeats_its_draws_and_leaves_the_callers_random_state(monkeypatch):
    monkeypatch.setattr(data, "finetune_family", lambda family: DrawingOps())
    model = torch.nn.Linear(2, 2)
    loader = DataLoader([{"x": torch.zeros(2)} for _ in range(6)], batch_size=2)
    torch.manual_seed(0)
    expected_next = torch.rand(3)
    torch.manual_seed(0)
    first = data.heldout_loss(model, "ar_nar", loader)
    assert torch.equal(torch.rand(3), expected_next)  # the caller's stream went on untouched
    torch.manual_seed(99)  # another caller state: the same draws all the same
    assert data.heldout_loss(model, "ar_nar", loader) == first
    assert model.training  # back in the mode it came in
