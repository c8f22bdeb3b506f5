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

The loop is the shared one (``decode_loop.decode_steps``, with no stop id); this module adds
the pointer (``_PointerState``): its conditioning, fed with every code, and its move after every
draw, which is what ends a row. Returns per item the level-0 codes [T] and the durations [n]
(frames per text position, what the NAR reads), with whether the item ended by passing eos.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from vall_e.inference.decode_loop import decode_steps
from vall_e.inference.decode_step import DecodeStats, cached_step, left_pad
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


class _PointerState:
    """Each row's place in its text: the position it reads, the frame inside that position and
    how many frames the position holds (the duration head's prediction at its first frame)."""

    def __init__(self, model: ARNARModel, text: list[torch.Tensor], speed: float):
        device = model.text_embedding.weight.device
        self.model, self.speed, batch = model, speed, len(text)
        self.lengths = torch.tensor([len(t) for t in text], device=device)
        self.padded_text = torch.nn.utils.rnn.pad_sequence(text, batch_first=True)
        self.pointer = torch.zeros(batch, dtype=torch.long, device=device)
        self.inside = torch.zeros(batch, dtype=torch.long, device=device)
        self.hold = torch.ones(batch, dtype=torch.long, device=device)  # frames the token gets
        self.spoken = self.pointer.clone()  # the position each row read at the last step
        self.passed_eos = torch.zeros(batch, dtype=torch.bool, device=device)

    def conditioning(self) -> torch.Tensor:
        """[B, 1, d] for the frame about to be predicted."""
        last = self.padded_text.shape[1] - 1
        ids = self.padded_text.gather(1, self.pointer.clamp(max=last)[:, None])[:, 0]
        clock = torch.floor(self.inside.float() * self.speed).long()
        return self.model.pointer.step(ids, clock)[:, None]

    def move(self, hidden: torch.Tensor, finished: torch.Tensor) -> torch.Tensor:
        """Advance past the frame just drawn from ``hidden`` [B, d] (rows already ``finished``
        hold still); -> [B] bool: the row's pointer has passed eos. Tensors are replaced, not
        changed in place: what a ``PointerStep`` holds stays that step's."""
        predicted = expected_frames(self.model.duration_head(hidden)) / self.speed
        self.hold = torch.where(self.inside == 0, predicted.round().long().clamp(min=1), self.hold)
        advance = self.inside + 1 >= self.hold
        self.spoken = self.pointer.clone()
        self.pointer = torch.where(advance & ~finished, self.pointer + 1, self.pointer)
        self.inside = torch.where(advance, torch.zeros_like(self.inside), self.inside + 1)
        ended = self.pointer >= self.lengths
        self.passed_eos = self.passed_eos | (ended & ~finished)
        return ended


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
    """One ``PointerStep`` per frame until every row is done, from the one cached decoding
    loop (``decode_loop.decode_steps``): no stop id, rows end when ``_PointerState.move``
    says their pointer passed eos, or at their cap."""
    _check(model, sampler, speed)
    if max_steps < 1:  # nothing may be generated
        return
    state = _PointerState(model, text, speed)
    rates = rates or [None] * len(text)
    prefixes = [model.tts_prefix(0, t, p) for t, p in zip(text, prompts)]
    positions = [model.tts_positions(len(t), p.shape[-1], 0, r) for t, p, r in zip(text, prompts, rates)]
    x, valid, pos = left_pad(prefixes, positions)
    x = torch.cat([x[:, :-1], x[:, -1:] + state.conditioning()], dim=1)  # SEP predicts frame 0
    cache = KVCache(len(model.blocks))
    hidden = model.hidden_states(x, pos, valid, causal=True, cache=cache)
    feed = {"last": hidden[:, -1], "position": pos[:, -1:] + 1}

    def logits_of(h: torch.Tensor) -> torch.Tensor:
        return _code_logits(model, h)

    def ends(tokens: torch.Tensor, finished: torch.Tensor) -> torch.Tensor:
        return state.move(feed["last"], finished)

    def advance(tokens: torch.Tensor, finished: torch.Tensor) -> torch.Tensor:
        step_input = model.code_embeddings[0](tokens)[:, None] + state.conditioning()
        hidden, layers_run = cached_step(model, step_input, feed["position"], cache, logits_of,
                                         sampler)
        if stats is not None:
            stats.layers_run.append(layers_run)
        feed["last"], feed["position"] = hidden[:, -1], feed["position"] + 1
        return logits_of(feed["last"])

    caps = [min(max_steps, safety_cap(len(t), speed)) for t in text]
    cap_tensor = torch.tensor(caps, device=hidden.device)
    for out in decode_steps(logits_of(feed["last"]), advance, sampler, [], caps, ends=ends):
        yield PointerStep(out.tokens, state.spoken, out.finished, state.passed_eos, cap_tensor)


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
