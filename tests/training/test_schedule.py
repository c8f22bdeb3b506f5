import math

import pytest
import torch

from vall_e.training.schedule import WarmupCosine, warmup_cosine


def _stepped_scheduler(total: int, steps: int):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = warmup_cosine(optimizer, warmup=10, total=total)
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
    return optimizer, scheduler


def test_warmup_then_cosine_down_to_a_tenth():
    shape = WarmupCosine(warmup=10, total=110)
    assert shape(0) == pytest.approx(0.1)
    assert shape(9) == pytest.approx(1.0)
    assert shape(60) == pytest.approx(0.55)
    assert shape(110) == pytest.approx(0.1)
    assert shape(5000) == pytest.approx(0.1)


def test_resuming_with_a_longer_run_follows_the_new_length():
    _, old = _stepped_scheduler(total=100, steps=80)
    optimizer, resumed = _stepped_scheduler(total=400, steps=0)
    resumed.load_state_dict(old.state_dict())
    optimizer.step()
    resumed.step()
    expected = 0.1 + 0.45 * (1 + math.cos(math.pi * (81 - 10) / (400 - 10)))
    assert optimizer.param_groups[0]["lr"] == pytest.approx(expected)
    # the old length would have put it near the floor instead
    assert WarmupCosine(10, 100)(81) < expected - 0.3
