"""Each processor's rule, shown on hand-made logits."""
import math

import pytest
import torch

from vall_e.sampling import processors as P
from vall_e.sampling.dry import dry_match_lengths, z_function


def probs_of(*values):
    """Logits whose softmax is exactly the given probabilities."""
    return torch.tensor([values]).log()


def kept(logits):
    return torch.isfinite(logits[0]).nonzero().flatten().tolist()


def test_temperature_scales_and_never_overflows():
    logits = torch.tensor([[1.0, 2.0, 4.0]])
    assert torch.allclose(torch.softmax(P.apply_temperature(logits, 2.0), -1),
                          torch.softmax(logits / 2.0, -1))
    huge = P.apply_temperature(torch.tensor([[3e38, 0.0]]), 1e-3)
    assert huge[0, 0] == 0 and not torch.isnan(huge).any()
    per_row = P.apply_temperature(torch.tensor([[2.0, 0.0], [2.0, 0.0]]), torch.tensor([1.0, 2.0]))
    assert per_row[:, 1].tolist() == [-2.0, -1.0]
    with pytest.raises(ValueError):
        P.apply_temperature(logits, 0.0)


def test_top_k_keeps_exactly_the_k_largest():
    logits = torch.tensor([[0.5, 3.0, -1.0, 2.0, 1.0]])
    assert kept(P.top_k_filter(logits, 2)) == [1, 3]
    assert kept(P.top_k_filter(logits, 0)) == [0, 1, 2, 3, 4]
    assert kept(P.top_k_filter(logits, 1)) == [1]


@pytest.mark.parametrize("p, expected", [(0.5, [0]), (0.51, [0, 1]), (0.8, [0, 1]),
                                         (0.81, [0, 1, 2]), (0.05, [0]), (1.0, [0, 1, 2, 3])])
def test_top_p_keeps_the_smallest_set_reaching_p(p, expected):
    logits = probs_of(0.5, 0.3, 0.15, 0.05)
    assert kept(P.top_p_filter(logits, p)) == expected


def test_top_p_works_on_unsorted_rows():
    logits = probs_of(0.15, 0.5, 0.05, 0.3)
    assert kept(P.top_p_filter(logits, 0.7)) == [1, 3]


def test_min_p_keeps_exactly_tokens_with_p_at_least_min_p_times_p_max():
    probs = torch.tensor([0.4, 0.25, 0.19, 0.1, 0.05, 0.01])
    logits = probs.log()[None]
    for min_p in (0.1, 0.3, 0.5, 0.7):
        expected = (probs >= min_p * probs.max()).nonzero().flatten().tolist()
        assert kept(P.min_p_filter(logits, min_p)) == expected
    assert kept(P.min_p_filter(logits, 0.5)) == [0, 1]  # 0.19 < 0.2 <= 0.25


def test_filters_never_empty_a_row_and_leave_input_alone():
    logits = torch.tensor([[1e30, -1e30, 0.0], [-5.0, -5.0, -5.0]])
    before = logits.clone()
    for out in (P.top_k_filter(logits, 1), P.top_p_filter(logits, 1e-9), P.min_p_filter(logits, 0.999)):
        assert torch.isfinite(out).any(-1).all()
    assert torch.equal(logits, before)


def test_repetition_penalty_divides_positive_multiplies_negative():
    logits = torch.tensor([[2.0, -2.0, 2.0, -2.0]])
    out = P.repetition_penalty(logits, torch.tensor([[0, 1]]), penalty=2.0)
    assert out.tolist() == [[1.0, -4.0, 2.0, -2.0]]


def test_repetition_penalty_decays_with_distance_and_uses_nearest_occurrence():
    logits = torch.full((1, 30), 4.0)
    history = torch.tensor([[5] + [9] * 18 + [5, 7]])  # 7: 1 step back; 9: 3 steps; 5: 2 (and 21)
    out = P.repetition_penalty(logits, history, penalty=2.0, decay=0.5)
    factor = lambda d: 2.0 ** (1 / (1 + 0.5 * (d - 1)))
    assert out[0, 7] == pytest.approx(4.0 / factor(1))  # full penalty: 2.0
    assert out[0, 5] == pytest.approx(4.0 / factor(2))
    assert out[0, 9] == pytest.approx(4.0 / factor(3))
    far = P.repetition_penalty(logits, torch.tensor([[3] + [1] * 19]), penalty=2.0, decay=0.5)
    assert far[0, 3] == pytest.approx(4.0 / factor(20)) and factor(20) < 1.1
    flat = P.repetition_penalty(logits, torch.tensor([[3] + [1] * 19]), penalty=2.0, decay=0.0)
    assert flat[0, 3] == pytest.approx(2.0)  # no decay: same factor at any distance


def test_repetition_penalty_ignores_padding_and_broadcasts_over_positions():
    logits = torch.ones(2, 3, 4)
    out = P.repetition_penalty(logits, torch.tensor([[-1, 2], [7, 0]]), penalty=4.0)
    assert out[0, :, 2].tolist() == [0.25] * 3 and out[1, :, 0].tolist() == [0.25] * 3
    assert out[0, :, [0, 1, 3]].eq(1).all() and out[1, :, 1:].eq(1).all()


def test_length_penalty_shifts_only_the_stop_logit_with_length():
    logits = torch.zeros(2, 4)
    out = P.length_penalty(logits, stop_token=3, length=10, penalty=0.5)
    assert out[:, 3].tolist() == [-5.0, -5.0] and out[:, :3].eq(0).all()
    sooner = P.length_penalty(logits, stop_token=3, length=10, penalty=-0.5)
    assert sooner[0, 3] == 5.0
    assert P.length_penalty(logits, 3, 20, 0.5)[0, 3] < out[0, 3]  # grows with length


def test_dry_penalizes_exactly_the_continuation_of_a_repeat():
    history = torch.tensor([[1, 2, 3, 4, 1, 2, 3]])  # "1 2 3" was followed by 4
    logits = torch.zeros(1, 6)
    out = P.dry_penalty(logits, history, multiplier=0.8, base=2.0, allowed_length=2)
    assert out[0, 4] == pytest.approx(-0.8 * 2.0 ** (3 - 2))
    assert out[0, [0, 1, 2, 3, 5]].eq(0).all()


def test_dry_respects_allowed_length():
    history = torch.tensor([[1, 2, 3, 4, 1, 2, 3]])
    logits = torch.zeros(1, 6)
    at_limit = P.dry_penalty(logits, history, multiplier=1.0, base=1.75, allowed_length=3)
    assert at_limit[0, 4] == pytest.approx(-1.0)  # n = 3 = allowed: base ** 0
    assert P.dry_penalty(logits, history, 1.0, 1.75, allowed_length=4).eq(0).all()


def test_dry_on_a_degenerate_loop_stays_finite():
    history = torch.tensor([[5] * 3000])
    out = P.dry_penalty(torch.zeros(1, 8), history, multiplier=1.0, base=1.75, allowed_length=2)
    assert torch.isfinite(out).all() and out[0, 5] < -1e30 and out[0, :5].eq(0).all()


def test_dry_match_lengths_agree_with_brute_force():
    def brute(tokens):
        found = {}
        for i in range(1, len(tokens)):
            n = 0
            while n < i and tokens[i - 1 - n] == tokens[len(tokens) - 1 - n]:
                n += 1
            if n:
                found[tokens[i]] = max(found.get(tokens[i], 0), n)
        return found

    g = torch.Generator().manual_seed(0)
    for _ in range(300):
        length = int(torch.randint(0, 40, (1,), generator=g))
        tokens = torch.randint(0, 3, (length,), generator=g).tolist()
        assert dry_match_lengths(tokens) == brute(tokens)
    assert z_function([1, 1, 2, 1, 1]) == [0, 1, 0, 2, 1]


def test_entropy_and_varentropy():
    uniform = torch.zeros(1, 8)
    entropy, varentropy = P.entropy_varentropy(uniform)
    assert entropy.item() == pytest.approx(math.log(8)) and varentropy.item() == pytest.approx(0, abs=1e-6)
    two = probs_of(0.5, 0.5, 0.0)
    assert P.entropy_varentropy(two)[0].item() == pytest.approx(math.log(2))
    skewed = probs_of(0.9, 0.1)
    h = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    v = 0.9 * (-math.log(0.9) - h) ** 2 + 0.1 * (-math.log(0.1) - h) ** 2
    e, var = P.entropy_varentropy(skewed)
    assert e.item() == pytest.approx(h, rel=1e-5) and var.item() == pytest.approx(v, rel=1e-4)
    assert P.is_confident(torch.tensor([[20.0, 0, 0], [0, 0, 0]]), 0.1, 0.1).tolist() == [True, False]


def test_dynamic_temperature_spans_min_to_max_with_entropy():
    logits = torch.tensor([[50.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, -math.inf, -math.inf]])
    temps = P.dynamic_temperature(logits, min_temp=0.2, max_temp=1.0)
    assert temps[0].item() == pytest.approx(0.2, abs=1e-3)  # confident -> min
    assert temps[1].item() == pytest.approx(1.0)  # uniform -> max
    assert temps[2].item() == pytest.approx(1.0)  # uniform over the finite tokens -> max
    middle = P.dynamic_temperature(probs_of(0.7, 0.1, 0.1, 0.1), 0.2, 1.0)
    assert 0.2 < middle.item() < 1.0
