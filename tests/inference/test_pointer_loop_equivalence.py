"""The pointer AR runs on the one decoding loop (decode_loop.decode_steps) and draws exactly what
its own loop drew before it was folded in: same seed, same codes, durations, ends and stats.

``_reference_steps`` is that former loop (``pointer_steps`` in pointer_decode.py at commit
c65e300), kept verbatim as the oracle; nothing in the package uses it.
"""
import pytest
import torch

from vall_e.inference.decode_step import DecodeStats, cached_step, left_pad
from vall_e.inference.pointer_decode import (
    _code_logits,
    generate_pointer_ar,
    pointer_steps,
    safety_cap,
)
from vall_e.models.layers import KVCache
from vall_e.models.pointer import expected_frames
from vall_e.sampling import SamplingParams, TokenSampler
from tests.inference.test_pointer_decode import CODES, LEVELS, _model


@torch.inference_mode()
def _reference_steps(model, text, prompts, sampler, max_steps, speed=1.0, rates=None, stats=None):
    device = model.text_embedding.weight.device
    batch = len(text)
    rates = rates or [None] * batch
    lengths = torch.tensor([len(t) for t in text], device=device)
    padded_text = torch.nn.utils.rnn.pad_sequence(text, batch_first=True)
    pointer = torch.zeros(batch, dtype=torch.long, device=device)
    inside = torch.zeros(batch, dtype=torch.long, device=device)
    hold = torch.ones(batch, dtype=torch.long, device=device)

    def conditioning():
        ids = padded_text.gather(1, pointer.clamp(max=padded_text.shape[1] - 1)[:, None])[:, 0]
        clock = torch.floor(inside.float() * speed).long()
        return model.pointer.step(ids, clock)[:, None]

    prefixes = [model.tts_prefix(0, t, p) for t, p in zip(text, prompts)]
    positions = [model.tts_positions(len(t), p.shape[-1], 0, r) for t, p, r in zip(text, prompts, rates)]
    x, valid, pos = left_pad(prefixes, positions)
    x = torch.cat([x[:, :-1], x[:, -1:] + conditioning()], dim=1)
    cache = KVCache(len(model.blocks))
    hidden = model.hidden_states(x, pos, valid, causal=True, cache=cache)
    next_position = pos[:, -1] + 1
    caps = torch.tensor([min(max_steps, safety_cap(len(t), speed)) for t in text], device=device)
    history = torch.zeros(batch, 0, dtype=torch.long, device=device)
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    passed_eos = torch.zeros(batch, dtype=torch.bool, device=device)
    logits_of = lambda h: _code_logits(model, h)  # noqa: E731
    for step in range(int(caps.max())):
        last = hidden[:, -1]
        tokens = sampler(logits_of(last), history)
        predicted = expected_frames(model.duration_head(last)) / speed
        hold = torch.where(inside == 0, predicted.round().long().clamp(min=1), hold)
        advance = inside + 1 >= hold
        history = torch.cat([history, tokens[:, None]], dim=1)
        spoken = pointer.clone()
        pointer = torch.where(advance & ~finished, pointer + 1, pointer)
        inside = torch.where(advance, torch.zeros_like(inside), inside + 1)
        passed_eos = passed_eos | ((pointer >= lengths) & ~finished)
        finished = finished | (pointer >= lengths) | (step + 1 >= caps)
        yield tokens, spoken, finished, passed_eos, caps
        if bool(finished.all()):
            return
        step_input = model.code_embeddings[0](tokens)[:, None] + conditioning()
        hidden, layers_run = cached_step(model, step_input, next_position[:, None], cache,
                                         logits_of, sampler)
        if stats is not None:
            stats.layers_run.append(layers_run)
        next_position = next_position + 1


TEXTS = [torch.tensor([2, 5, 6, 7, 3]), torch.tensor([2, 8, 9, 10, 11, 12, 3]), torch.tensor([2, 4, 3])]
CASES = [  # (sampler settings, max_steps, speed)
    (dict(ar_temp=1.0), 10_000, 1.0),
    (dict(ar_temp=0.0), 10_000, 2.0),
    (dict(ar_temp=0.8, top_k=5, repetition_penalty=1.3), 10_000, 0.5),
    (dict(ar_temp=1.0, mirostat_tau=3.0), 12, 1.0),  # the step cap ends some rows
    (dict(ar_temp=1.0, layer_skip=True, layer_skip_exit_layer=0,
          layer_skip_entropy_threshold=50.0, layer_skip_varentropy_threshold=500.0), 10_000, 1.0),
]


def _sampler(model, settings, seed):
    return TokenSampler(SamplingParams(**settings), "ar", torch.Generator().manual_seed(seed),
                        stop_token=model.stop_token)


@pytest.mark.slow  # 15 cases x ~1 s; the fast tier keeps test_generate_pointer_ar_reads_the_same_steps
@pytest.mark.parametrize("settings, max_steps, speed", CASES)
@pytest.mark.parametrize("seed", range(3))
def test_the_shared_loop_draws_what_the_pointer_loop_drew(settings, max_steps, speed, seed):
    model = _model().eval()
    prompts = [torch.randint(0, CODES, (LEVELS, n), generator=torch.Generator().manual_seed(n))
               for n in (4, 0, 7)]
    expected_stats, stats = DecodeStats(len(model.blocks)), DecodeStats(len(model.blocks))
    expected = list(_reference_steps(model, TEXTS, prompts, _sampler(model, settings, seed),
                                     max_steps, speed, stats=expected_stats))
    got = list(pointer_steps(model, TEXTS, prompts, _sampler(model, settings, seed), max_steps,
                             speed, stats=stats))
    assert len(got) == len(expected) > 0
    for step, want in zip(got, expected):
        have = (step.tokens, step.positions, step.finished, step.passed_eos, step.caps)
        assert all(torch.equal(a, b) for a, b in zip(have, want))
    assert stats.layers_run == expected_stats.layers_run


def test_generate_pointer_ar_reads_the_same_steps():
    model = _model().eval()
    prompts = [torch.zeros(LEVELS, 0).long()] * len(TEXTS)
    sampler = _sampler(model, dict(ar_temp=1.0), 5)
    codes, durations, ended, _ = generate_pointer_ar(model, TEXTS, prompts, sampler, 10_000)
    steps = list(_reference_steps(model, TEXTS, prompts, _sampler(model, dict(ar_temp=1.0), 5),
                                  10_000))
    tokens = torch.stack([s[0] for s in steps], 1)
    for row, (code, text) in enumerate(zip(codes, TEXTS)):
        assert torch.equal(code, tokens[row, : len(code)])
        assert int(durations[row].sum()) == len(code) and len(durations[row]) == len(text)
    assert ended == steps[-1][3].tolist()
