"""TokenSampler: the order of the stages, which stages each role uses, and robustness."""
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vall_e.sampling import SamplingParams, TokenSampler, make_generator


def probs_of(*rows):
    return torch.tensor(rows).log()


def test_repetition_penalty_acts_on_raw_logits_even_when_greedy():
    logits = torch.tensor([[4.0, 3.9, 0.0]])
    sampler = TokenSampler(SamplingParams(ar_temp=0.0, repetition_penalty=2.0), "ar")
    assert sampler(logits, torch.tensor([[2, 2]])).item() == 0
    assert sampler(logits, torch.tensor([[0]])).item() == 1  # 4 / 2 < 3.9


def test_filters_see_the_tempered_distribution():
    logits = probs_of([0.6, 0.3, 0.1])  # min-p 0.4: cut p < 0.24 at T = 1
    cold, _ = TokenSampler(SamplingParams(ar_temp=1.0, min_p=0.4), "ar").process(logits)
    hot, _ = TokenSampler(SamplingParams(ar_temp=3.0, min_p=0.4), "ar").process(logits)
    assert torch.isfinite(cold).tolist() == [[True, True, False]]
    assert torch.isfinite(hot).all()  # flattened by T = 3 first: 0.1 ** (1/3) / 0.6 ** (1/3) > 0.4


def test_top_k_top_p_min_p_compose():
    params = SamplingParams(ar_temp=1.0, top_k=3, top_p=0.7, min_p=0.05)
    out, _ = TokenSampler(params, "ar").process(probs_of([0.05, 0.5, 0.02, 0.25, 0.18]))
    assert torch.isfinite(out[0]).nonzero().flatten().tolist() == [1, 3]


def test_length_penalty_uses_stop_token_and_history_length_ar_only():
    params = SamplingParams(ar_temp=1.0, length_penalty=0.5)
    logits, history = torch.zeros(1, 4), torch.zeros(1, 6, dtype=torch.long)
    ar, _ = TokenSampler(params, "ar", stop_token=3).process(logits, history)
    assert (ar[0, 3] - ar[0, 0]).item() == pytest.approx(-3.0)
    no_stop, _ = TokenSampler(params, "ar").process(logits, history)
    nar, _ = TokenSampler(params.with_changes(nar_temp=1.0), "nar", stop_token=3).process(logits, history)
    assert torch.equal(no_stop, no_stop[:, :1].expand(1, 4)) and torch.equal(nar, nar[:, :1].expand(1, 4))


def test_dry_is_ar_only_repetition_penalty_is_both():
    history = torch.tensor([[1, 2, 3, 4, 1, 2, 3]])
    params = SamplingParams(ar_temp=1.0, nar_temp=1.0, dry_multiplier=1.0)
    ar, _ = TokenSampler(params, "ar").process(torch.zeros(1, 6), history)
    nar, _ = TokenSampler(params, "nar").process(torch.zeros(1, 6), history)
    assert ar[0, 4] < ar[0, 0] and nar[0, 4] == nar[0, 0]
    penalized = params.with_changes(dry_multiplier=0.0, repetition_penalty=2.0)
    nar, _ = TokenSampler(penalized, "nar").process(torch.ones(1, 2, 6), history)
    assert nar.shape == (2, 6) and nar[:, 4].lt(nar[:, 5]).all()


def test_mirostat_drives_the_ar_draw_only():
    params = SamplingParams(ar_temp=1.0, nar_temp=1.0, mirostat_tau=2.0, mirostat_eta=0.2)
    ar = TokenSampler(params, "ar", make_generator(0))
    ar(torch.randn(2, 50))
    assert ar.mirostat is not None and ar.mirostat.mu.shape == (2,) and ar.mirostat.mu.ne(4.0).all()
    assert TokenSampler(params, "nar").mirostat is None
    ar.reset()
    assert ar.mirostat.mu is None


def test_dynamic_temperature_per_row():
    params = SamplingParams(ar_temp=1.5, min_ar_temp=0.5)
    logits = torch.tensor([[30.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    _, temperatures = TokenSampler(params, "ar").process(logits)
    assert temperatures[0].item() == pytest.approx(0.5, abs=1e-3)
    assert temperatures[1].item() == pytest.approx(1.5)


def test_greedy_rows_and_seeded_draws():
    greedy = TokenSampler(SamplingParams(ar_temp=0.0, top_k=1, min_p=0.5), "ar")
    assert greedy(torch.tensor([[0.0, 2.0, 1.0]])).tolist() == [1]
    params = SamplingParams(ar_temp=1.0, top_p=0.9, repetition_penalty=1.3)
    logits, history = torch.randn(3, 40), torch.randint(0, 40, (3, 12))
    draw = lambda: TokenSampler(params, "ar", make_generator(5))(logits, history).tolist()
    assert draw() == draw()


def test_log_probs_are_normalized_and_keep_shape():
    sampler = TokenSampler(SamplingParams(nar_temp=0.0, top_k=2), "nar")
    out = sampler.log_probs(torch.randn(2, 3, 7))
    assert out.shape == (2, 3, 7)
    assert torch.allclose(out.exp().sum(-1), torch.ones(2, 3))
    assert torch.isfinite(out).sum(-1).eq(2).all()


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_broken_logits_are_refused(bad):
    logits = torch.zeros(2, 4)
    logits[1, 2] = bad
    with pytest.raises(ValueError, match="NaN or \\+inf"):
        TokenSampler(SamplingParams(), "ar")(logits)
    with pytest.raises(ValueError, match="all -inf"):
        TokenSampler(SamplingParams(), "ar")(torch.full((1, 3), -math.inf))


# ---- property: no valid combination yields NaN or an empty distribution -------------------

def _temperature_pair(draw):
    high = draw(st.sampled_from([0.0, 1.0]) | st.floats(0.01, 10.0))
    low = draw(st.just(-1.0) | st.floats(0.0, high, exclude_max=True)) if high > 0 else -1.0
    return high, low


@st.composite
def valid_params(draw):
    ar_temp, min_ar_temp = _temperature_pair(draw)
    nar_temp, min_nar_temp = _temperature_pair(draw)
    tau = draw(st.just(0.0) | st.floats(0.1, 12.0))
    dry = draw(st.just(0.0) | st.floats(0.01, 10.0))
    return SamplingParams(
        ar_temp=ar_temp, min_ar_temp=min_ar_temp, nar_temp=nar_temp, min_nar_temp=min_nar_temp,
        top_k=draw(st.integers(0, 50)), top_p=draw(st.floats(1e-6, 1.0)),
        min_p=draw(st.floats(0.0, 0.999)), repetition_penalty=draw(st.floats(1e-3, 1e3)),
        repetition_penalty_decay=draw(st.floats(0.0, 10.0)),
        length_penalty=draw(st.floats(-100.0, 100.0)), mirostat_tau=tau,
        mirostat_eta=draw(st.floats(0.01, 2.0)), dry_multiplier=dry,
        dry_base=draw(st.floats(1.01, 4.0)), dry_allowed_length=draw(st.integers(1, 4)),
        seed=draw(st.integers(0, 2**31)),
    ).validate()


@st.composite
def logits_and_history(draw):
    rows, vocab = draw(st.integers(1, 3)), draw(st.integers(2, 24))
    huge = st.floats(width=32, allow_nan=False, allow_infinity=False)  # up to +-3.4e38
    value = huge | st.floats(-5.0, 5.0) | st.just(-math.inf)
    table = draw(st.lists(st.lists(value, min_size=vocab, max_size=vocab), min_size=rows, max_size=rows))
    for row in table:  # a model masks tokens, never all of them
        if all(math.isinf(x) for x in row):
            row[draw(st.integers(0, vocab - 1))] = draw(huge)
    length = draw(st.integers(0, 40))
    history = draw(st.lists(st.lists(st.integers(0, vocab - 1) | st.just(-1), min_size=length,
                                     max_size=length), min_size=rows, max_size=rows))
    return torch.tensor(table), torch.tensor(history, dtype=torch.long).reshape(rows, length)


@pytest.mark.slow  # a property test over many parameter sets
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=valid_params(), data=logits_and_history(), role=st.sampled_from(["ar", "nar"]))
def test_no_valid_parameters_yield_nan_or_an_empty_distribution(params, data, role):
    logits, history = data
    sampler = TokenSampler(params, role, make_generator(params.seed), stop_token=logits.shape[-1] - 1)
    for _ in range(3):  # a few steps: stateful samplers (mirostat) move
        processed, _ = sampler.process(logits, history)
        assert not torch.isnan(processed).any()
        assert torch.isfinite(processed).any(-1).all()
        log_probs = sampler.log_probs(logits, history)
        assert torch.allclose(log_probs.exp().sum(-1), torch.ones(logits.shape[0]), atol=1e-4)
        tokens = sampler(logits, history)
        assert tokens.shape == logits.shape[:1]
        assert torch.isfinite(logits.gather(-1, tokens[:, None])).all()  # never a masked token
        history = torch.cat([history, tokens[:, None]], dim=1)
