"""Level 0 of a durations model (``model.alignment: durations``), with no AR loop.

1. ``predict_durations``: the duration pass gives each text position the mean of its length
   distribution; lengths are divided by ``speed`` and rounded on the running sum (so the total
   is the rounded sum, not n rounding errors), every position gets >= 1 frame, and the whole
   item is held under ``safety_cap`` frames and the caller's ``max_frames`` by scaling it down.
   ``--speed`` therefore scales the length exactly: 2 is half as long.
2. ``generate_level0``: every frame starts masked; each of ``steps`` passes samples all
   masked frames through the shared ``TokenSampler`` (role "ar": ``--ar-temp`` and the
   truncation filters apply), keeps the most confident ones (the model's probability of the
   drawn code) and re-masks the rest, fewer each pass (MaskGIT's cosine schedule); the last
   pass fixes every frame. Bounded: exactly ``steps`` passes.

Options of the AR loop that have no meaning here are refused (``unsupported``), never ignored.
"""
from __future__ import annotations

import math

import torch

from vall_e.inference.pointer_decode import safety_cap
from vall_e.models.ar_nar import ARNARModel
from vall_e.models.parallel_level0 import duration_logits, level0_logits, mask_share
from vall_e.models.pointer import expected_frames
from vall_e.sampling import TokenSampler


def unsupported(params, shared_prefix: bool = False) -> list[str]:
    """Sampling options that need a sequential AR (history, STOP, beams): refused. A
    shared-prefix model takes ``--input-prompt-prefix`` as a continuation of the reference's
    frames (``shared_prefix_decode.generate_continuation``)."""
    checks = {
        "--beam-width": params.beam_width > 1,
        "--refine-on-stop": params.refine_on_stop,
        "--input-prompt-prefix": params.input_prompt_prefix and not shared_prefix,
        "--layer-skip": params.layer_skip,
        "--repetition-penalty": params.repetition_penalty != 1.0,
        "--length-penalty": params.length_penalty != 0.0,
        "--dry-multiplier": params.dry_multiplier > 0,
        "--mirostat-tau": params.mirostat_tau > 0,
    }
    return [flag for flag, used in checks.items() if used]


def _check(model: ARNARModel, speed: float) -> None:
    if model.durations_mode is None:
        raise ValueError("parallel level-0 decoding needs a model with model.alignment: durations")
    if not speed > 0:
        raise ValueError(f"speed must be > 0, got {speed}")


def frame_cap(n_text_ids: int, speed: float, max_frames: int | None) -> int:
    """The most frames an item of ``n_text_ids`` text positions may get: ``safety_cap``, held
    under the caller's ``max_frames`` when there is one."""
    cap = safety_cap(n_text_ids, speed)
    return cap if max_frames is None else min(cap, max_frames)


def lengths_from_logits(logits: torch.Tensor, speed: float, cap: int) -> torch.Tensor:
    """Duration logits [n, D] -> frames per position [n] (>= 1 each, sum <= max(cap, n))."""
    frames = expected_frames(logits) / speed
    total = float(frames.sum())
    if total > cap:
        frames = frames * (cap / total)
    ends = torch.round(torch.cumsum(frames, 0)).long()
    lengths = torch.diff(ends, prepend=torch.zeros(1, dtype=torch.long, device=ends.device))
    return lengths.clamp(min=1)


@torch.inference_mode()
def predict_durations(model: ARNARModel, text: list[torch.Tensor], prompts: list[torch.Tensor],
                      speed: float = 1.0, max_frames: int | None = None) -> list[torch.Tensor]:
    """Frames per text position [n_i] for each (text ids, prompt codes [K, Tp]) pair."""
    _check(model, speed)
    out = []
    for text_ids, logits in zip(text, duration_logits(model, text, prompts)):
        out.append(lengths_from_logits(logits, speed, frame_cap(len(text_ids), speed, max_frames)))
    return out


@torch.inference_mode()
def generate_level0(model: ARNARModel, text: list[torch.Tensor], prompts: list[torch.Tensor],
                    durations: list[torch.Tensor], sampler: TokenSampler,
                    steps: int | None = None) -> list[torch.Tensor]:
    """Level-0 codes [T_i] (T_i = sum of the item's durations) by iterative masked prediction."""
    steps = model.config.level0_steps if steps is None else steps
    if steps < 1:
        raise ValueError(f"level-0 steps must be >= 1, got {steps}")
    device = model.text_embedding.weight.device
    lengths = [int(d.sum()) for d in durations]
    codes = [torch.zeros(n, dtype=torch.long, device=device) for n in lengths]
    masked = [torch.ones(n, dtype=torch.bool, device=device) for n in lengths]
    for step in range(steps):
        logits = level0_logits(model, text, prompts, codes, masked, durations)
        share = float(mask_share((step + 1) / steps)) if step + 1 < steps else 0.0
        for index, item_logits in enumerate(logits):
            masked[index] = unmask_step(item_logits, codes[index], masked[index], share,
                                        lengths[index], sampler)
    return codes


def unmask_step(logits: torch.Tensor, codes: torch.Tensor, masked: torch.Tensor, share: float,
                n_generated: int, sampler: TokenSampler) -> torch.Tensor:
    """One masked-prediction pass over one item: draw every frame from ``logits`` [T, V], write
    the draws into ``codes`` [T] (in place) where ``masked`` [T], and return the new mask: the
    ``floor(share x n_generated)`` least confident of the frames drawn now (at most all but
    one of them), so the pass always fixes at least one frame."""
    drawn = sampler(logits[None])[0]
    confidence = torch.softmax(logits.float(), -1).gather(1, drawn[:, None])[:, 0]
    codes.copy_(torch.where(masked, drawn, codes))
    keep_masked = min(math.floor(share * n_generated), max(0, int(masked.sum()) - 1))
    confidence = torch.where(masked, confidence, torch.full_like(confidence, math.inf))
    remask = torch.zeros_like(masked)
    if keep_masked > 0:
        remask[torch.topk(confidence, keep_masked, largest=False).indices] = True
    return remask
