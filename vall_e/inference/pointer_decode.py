"""The AR of a pointer model (``model.alignment: pointer``): level 0 read phoneme by phoneme.

Each step feeds the previous code plus the conditioning of the phoneme under the pointer and
the frame's place inside it (``PointerConditioning``) and samples the frame's level-0 code
through the shared ``TokenSampler`` (STOP masked: a pointer model never emits it). At a
phoneme's first frame the duration head predicts how long it lasts (the mean of its
distribution); the pointer holds it that long divided by ``speed``, then moves on. So:

- the pointer never moves backwards and moves by at most one position a frame: no word is
  skipped and none repeated, every position gets >= 1 frame;
- an item ends when its pointer passes ``eos``: the model cannot run on after the text;
- ``speed`` divides every predicted length (and warps the clock inside the phoneme the model
  is fed, ``floor(frames * speed)``, so its acoustics keep up): 2 is twice as fast;
- no item exceeds ``safety_cap(text)`` frames nor the caller's ``max_steps``, whatever a
  broken model predicts.

Returns per item the level-0 codes [T] and the durations [n] (frames per text position, what
the NAR reads), with whether the item ended by passing eos.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from vall_e.inference.ar_nar_decode import DecodeStats, _left_pad, cached_step
from vall_e.models.ar_nar import ARNARModel
from vall_e.models.layers import KVCache
from vall_e.models.pointer import expected_frames
from vall_e.sampling import TokenSampler

FRAMES_PER_TOKEN_CAP = 25  # the whole item: 0.5 s per text position on average at speed 1


def safety_cap(n_text_ids: int, speed: float) -> int:
    """Most frames an item of ``n_text_ids`` positions (bos/eos included) may take."""
    return int(FRAMES_PER_TOKEN_CAP * n_text_ids / speed) + 50


def unsupported(params) -> list[str]:
    """Sampling options the pointer loop does not implement (refused, never ignored)."""
    names = []
    if params.beam_width > 1:
        names.append("--beam-width")
    if params.refine_on_stop:
        names.append("--refine-on-stop")
    if params.input_prompt_prefix:
        names.append("--input-prompt-prefix")
    return names


@dataclass
class PointerStep:
    """One decoding step of a batch: each row's new code, the text position it speaks, and
    whether the row is done (its pointer passed eos, or it reached its cap)."""

    tokens: torch.Tensor  # [B]
    positions: torch.Tensor  # [B]
    finished: torch.Tensor  # [B] bool, after this step
    passed_eos: torch.Tensor  # [B] bool, after this step
    caps: torch.Tensor  # [B] frames each row may take


def _check(model: ARNARModel, sampler: TokenSampler, speed: float) -> None:
    if model.pointer is None:
        raise ValueError("pointer decoding needs a model with model.alignment: pointer")
    if not speed > 0:
        raise ValueError(f"speed must be > 0, got {speed}")
    refused = unsupported(sampler.params)
    if refused:
        raise ValueError(f"{', '.join(refused)} not available with a pointer-aligned model")


@torch.inference_mode()
def pointer_steps(
    model: ARNARModel,
    text: list[torch.Tensor],
    prompts: list[torch.Tensor],
    sampler: TokenSampler,
    max_steps: int,
    speed: float = 1.0,
    rates: list[float | None] | None = None,
    stats: DecodeStats | None = None,
) -> Iterator[PointerStep]:
    """The cached decoding loop, one ``PointerStep`` per frame until every row is done."""
    _check(model, sampler, speed)
    device = model.text_embedding.weight.device
    batch = len(text)
    rates = rates or [None] * batch
    lengths = torch.tensor([len(t) for t in text], device=device)
    padded_text = torch.nn.utils.rnn.pad_sequence(text, batch_first=True)
    pointer = torch.zeros(batch, dtype=torch.long, device=device)
    inside = torch.zeros(batch, dtype=torch.long, device=device)
    hold = torch.ones(batch, dtype=torch.long, device=device)  # frames the current token gets

    def conditioning() -> torch.Tensor:  # [B, 1, d] for the frame about to be predicted
        ids = padded_text.gather(1, pointer.clamp(max=padded_text.shape[1] - 1)[:, None])[:, 0]
        clock = torch.floor(inside.float() * speed).long()
        return model.pointer.step(ids, clock)[:, None]

    prefixes = [model.tts_prefix(0, t, p) for t, p in zip(text, prompts)]
    positions = [model.tts_positions(len(t), p.shape[-1], 0, r) for t, p, r in zip(text, prompts, rates)]
    x, valid, pos = _left_pad(prefixes, positions)
    x = torch.cat([x[:, :-1], x[:, -1:] + conditioning()], dim=1)  # SEP predicts frame 0
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
        yield PointerStep(tokens, spoken, finished, passed_eos, caps)
        if bool(finished.all()):
            return
        step_input = model.code_embeddings[0](tokens)[:, None] + conditioning()
        hidden, layers_run = cached_step(model, step_input, next_position[:, None], cache,
                                         logits_of, sampler)
        if stats is not None:
            stats.layers_run.append(layers_run)
        next_position = next_position + 1


def generate_pointer_ar(
    model: ARNARModel,
    text: list[torch.Tensor],
    prompts: list[torch.Tensor],
    sampler: TokenSampler,
    max_steps: int,
    speed: float = 1.0,
    rates: list[float | None] | None = None,
) -> tuple[list[torch.Tensor], list[torch.Tensor], list[bool], DecodeStats]:
    """Level-0 codes and durations for each (text ids, prompt codes [K, Tp]) pair."""
    stats = DecodeStats(len(model.blocks))
    tokens, spoken, last = [], [], None
    for last in pointer_steps(model, text, prompts, sampler, max_steps, speed, rates, stats):
        tokens.append(last.tokens)
        spoken.append(last.positions)
    history, frame_pointer = torch.stack(tokens, 1), torch.stack(spoken, 1)
    codes, durations = [], []
    for row, text_ids in enumerate(text):
        n_frames = int((frame_pointer[row] < len(text_ids)).sum().clamp(max=last.caps[row]))
        codes.append(history[row, :n_frames])
        durations.append(torch.bincount(frame_pointer[row, :n_frames], minlength=len(text_ids)))
    return codes, durations, last.passed_eos.tolist(), stats


def _code_logits(model: ARNARModel, hidden: torch.Tensor) -> torch.Tensor:
    """Level-0 logits with STOP impossible: a pointer model ends by passing eos."""
    logits = model.level_logits(hidden, 0).float()
    logits[..., model.stop_token] = float("-inf")
    return logits
