import pytest
import torch

from vall_e.errors import SamplingError
from vall_e.sampling import SamplingParams, TokenSampler, make_generator


def _draw(logits, temperature, generator=None):
    return TokenSampler(SamplingParams(ar_temp=temperature), "ar", generator)(logits)


def test_temperature_zero_is_greedy():
    logits = torch.tensor([[0.1, 3.0, 0.2], [5.0, 0.0, 4.9]])
    assert _draw(logits, 0.0).tolist() == [1, 0]


def test_same_seed_same_draws_and_low_temperature_concentrates():
    logits = torch.zeros(1, 50)
    logits[0, 7] = 2.0
    assert int(_draw(logits, 1.0, make_generator(3))) == int(_draw(logits, 1.0, make_generator(3)))
    g = make_generator(0)
    cold = [int(_draw(logits, 0.05, g)) for _ in range(50)]
    hot = [int(_draw(logits, 5.0, g)) for _ in range(50)]
    assert cold.count(7) == 50 and hot.count(7) < 25


def test_roles_pick_their_temperature():
    params = SamplingParams(ar_temp=0.7, nar_temp=0.0)
    assert TokenSampler(params, "ar").temperature == 0.7
    assert TokenSampler(params, "nar").temperature == 0.0
    with pytest.raises(ValueError):
        TokenSampler(params, "mid")


def test_parallel_logits_keep_their_shape():
    sampler = TokenSampler(SamplingParams(nar_temp=0.0), "nar")
    assert sampler(torch.randn(2, 5, 9)).shape == (2, 5)


@pytest.mark.parametrize("bad", [{"ar_temp": -0.1}, {"nar_temp": float("nan")}, {"seed": -1}])
def test_impossible_values_are_refused(bad):
    with pytest.raises(SamplingError):
        SamplingParams(**bad).validate()
