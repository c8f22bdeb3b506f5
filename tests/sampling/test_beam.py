"""BeamSearch: true beam bookkeeping that finds what greedy misses."""
import math

import pytest
import torch

from vall_e.sampling import BeamSearch

STOP = 0


def trap_model(prefix: list[int]) -> torch.Tensor:
    """Log-probs [V=6] of a 2-step model where greedy's first choice is a trap.

    Step 1: token 1 (p 0.6) or token 2 (p 0.4). After 1 the next token is spread over
    tokens 3, 4, 5 (p <= 0.34); after 2 it is token 3 with p 0.9. Then STOP.
    Greedy: 1 then 3 -> 0.6 * 0.34 = 0.204; best: 2 then 3 -> 0.4 * 0.9 = 0.36.
    """
    p = torch.full((6,), 1e-6)
    if not prefix:
        p[1], p[2] = 0.6, 0.4
    elif len(prefix) == 1 and prefix[0] == 1:
        p[3], p[4], p[5] = 0.34, 0.33, 0.33
    elif len(prefix) == 1:
        p[3], p[4] = 0.9, 0.1
    else:
        p[STOP] = 1.0
    return (p / p.sum()).log()


def run_beam(model, width, alpha=1.0, max_length=10):
    search = BeamSearch(width, STOP, length_normalization=alpha, max_length=max_length)
    prefixes = [[] for _ in range(width)]
    steps = 0
    while not search.done:
        log_probs = torch.stack([model(prefix) for prefix in prefixes])
        parents, tokens = search.step(log_probs)
        prefixes = [prefixes[p] + [t] for p, t in zip(parents.tolist(), tokens.tolist())]
        steps += 1
    return search, steps


def greedy(model, max_length=10):
    prefix = []
    while len(prefix) < max_length:
        token = int(model(prefix).argmax())
        if token == STOP:
            break
        prefix.append(token)
    return prefix


def test_beam_finds_the_sequence_greedy_misses():
    assert greedy(trap_model) == [1, 3]
    search, steps = run_beam(trap_model, width=2)
    assert search.best() == [2, 3]
    assert steps == 3  # stopped by itself once nothing alive could beat the finished beam


def test_width_one_is_greedy():
    search, _ = run_beam(trap_model, width=1)
    assert search.best() == [1, 3]


def test_first_step_expands_only_one_copy_of_the_prefix():
    search = BeamSearch(3, STOP)
    parents, tokens = search.step(torch.log_softmax(torch.tensor([[0.0, 3.0, 2.0, 1.0]] * 3), -1))
    assert parents.tolist() == [0, 0, 0] and tokens.tolist() == [1, 2, 3]


def test_stop_moves_a_beam_to_finished_with_a_length_normalized_score():
    search = BeamSearch(2, STOP, length_normalization=1.0)
    search.step(torch.tensor([[-5.0, -0.5, -1.0], [-9.0, -9.0, -9.0]]))  # alive: [1], [2]
    assert search.finished == []  # STOP ranked below both alive candidates
    search.step(torch.tensor([[-1.0, -2.0, -4.0], [-0.1, -5.0, -5.0]]))
    finished = sorted(search.finished)
    assert [tokens for _, tokens in finished] == [[1], [2]]
    assert finished[1][0] == pytest.approx((-1.0 - 0.1) / 2)  # length 2 counts the STOP
    assert search.sequences == [[1, 1], [1, 2]]
    assert search.scores.tolist() == pytest.approx([-2.5, -4.5])


def test_length_normalization_changes_the_winner():
    def model(prefix):  # short: stop now, -1.5 in all; long: 4 tokens + STOP at -0.4 each (-2.0)
        lp = torch.full((3,), -30.0)
        if not prefix:
            lp[STOP], lp[1] = -1.5, -0.4
        elif len(prefix) < 4:
            lp[1] = -0.4
        else:
            lp[STOP] = -0.4
        return lp

    raw, _ = run_beam(model, width=2, alpha=0.0)
    normalized, _ = run_beam(model, width=2, alpha=1.0)
    assert raw.best() == [] and normalized.best() == [1, 1, 1, 1]


def test_tiny_vocab_leaves_dead_rows_and_best_falls_back_to_alive():
    search = BeamSearch(4, STOP, max_length=2)
    parents, tokens = search.step(torch.tensor([[-math.inf, -0.7, -0.7]] * 4))
    assert sorted(tokens.tolist()[:2]) == [1, 2]
    assert math.isinf(search.scores[2]) and math.isinf(search.scores[3])
    search.step(torch.log_softmax(torch.tensor([[-5.0, 1.0, 0.0]] * 4), -1))
    assert search.done  # max_length
    assert len(search.best()) == 2 and search.best()[1] == 1


def test_invalid_width_and_shape_are_refused():
    with pytest.raises(ValueError):
        BeamSearch(0, STOP)
    with pytest.raises(ValueError):
        BeamSearch(2, STOP).step(torch.zeros(3, 5))
