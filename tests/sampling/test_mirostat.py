"""Mirostat v2: truncation by the running threshold mu, and the surprise controller."""

import pytest
import torch

from vall_e.sampling import MirostatState


def zipf_logits(generator, vocab=1024):
    """A random Zipf-like row: p(rank r) ~ r ** -s with a random exponent and token order."""
    exponent = 0.8 + 0.7 * torch.rand(1, generator=generator)
    ranks = torch.arange(1, vocab + 1, dtype=torch.float32)
    logits = -exponent * ranks.log()
    return logits[torch.randperm(vocab, generator=generator)][None]


def test_mu_starts_at_twice_tau_and_truncates_by_surprise():
    state = MirostatState(tau=1.0, eta=0.1)
    logits = torch.tensor([[0.5, 0.25, 0.125, 0.125]]).log()  # surprises 1, 2, 3, 3 bits
    g = torch.Generator().manual_seed(0)
    draws = set()
    for _ in range(200):
        state.mu = torch.tensor([2.0])  # hold mu at 2 bits: tokens 2 and 3 are cut
        draws.add(int(state.sample(logits, g)))
    assert draws == {0, 1}
    fresh = MirostatState(tau=1.5, eta=0.1)
    fresh.sample(logits, g)
    observed = fresh.last_surprise.item()
    assert fresh.mu.item() == pytest.approx(3.0 - 0.1 * (observed - 1.5))


def test_the_top_token_survives_a_tiny_mu():
    state = MirostatState(tau=0.5, eta=0.1)
    state.mu = torch.tensor([0.0, 0.0])
    logits = torch.tensor([[0.0, 1.0, 0.5], [3.0, 0.0, 0.0]])
    assert state.sample(logits, torch.Generator().manual_seed(1)).tolist() == [1, 0]


@pytest.mark.parametrize("tau", [2.0, 4.0])
def test_average_surprise_settles_near_tau(tau):
    g = torch.Generator().manual_seed(7)
    state = MirostatState(tau=tau, eta=0.1)
    surprises = []
    for _ in range(2000):
        state.sample(zipf_logits(g), g)
        surprises.append(state.last_surprise.item())
    assert abs(sum(surprises) / len(surprises) - tau) < 0.25


def test_rows_keep_their_own_mu():
    state = MirostatState(tau=3.0, eta=0.5)
    g = torch.Generator().manual_seed(2)
    logits = torch.cat([zipf_logits(g), torch.zeros(1, 1024)])
    for _ in range(20):
        state.sample(logits, g)
    assert state.mu.shape == (2,) and state.mu[0] != state.mu[1]
    state.reset()
    assert state.mu is None


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError):
        MirostatState(tau=0.0, eta=0.1)
    with pytest.raises(ValueError):
        MirostatState(tau=3.0, eta=-1.0)
