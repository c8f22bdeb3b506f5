"""Stretching a short voice prompt to the length the network was trained with.

The default model learned from 3-second prompts; most evaluation references (and many a user's
clip) are 1.5-2 s. ``repeat_short_prompt`` plays the reference again, after a short pause, until
the prompt is full, and keeps the reference's own last frame as the prompt's last: the frames
right before the generated speech stay the reference's natural ending, and the join is a pause
between two readings rather than a cut.

Which passes read the repeated prompt is ``inference.repeat_short_prompt``
(``vall_e.config.REPEAT_MODES``):
``nar`` gives it to the NAR's levels only, which carry the finer detail of the voice, and
leaves level 0 (what is said, and when) on the reference as it is; ``all`` gives it to every
pass. On the dev split ``all`` cost the seen voices WER and ``nar`` did not (docs/default-model.md).
"""
from __future__ import annotations

import torch

PAUSE_SECONDS = 0.25  # between two copies of the reference: a breath, as between sentences


def repeat_short_prompt(codes: torch.Tensor, frames: int, pause: torch.Tensor) -> torch.Tensor:
    """Codes [K, T] of a reference, repeated with ``pause`` codes [K, P] between the copies,
    cut to their last ``frames`` frames; a reference of ``frames`` or more comes back as it is."""
    if codes.dim() != 2 or pause.dim() != 2 or pause.shape[0] != codes.shape[0]:
        raise ValueError(f"codes [K, T] and pause [K, P] must share K, got {tuple(codes.shape)} "
                         f"and {tuple(pause.shape)}")
    if codes.shape[1] == 0:
        raise ValueError("the reference has no frames to repeat")
    if codes.shape[1] >= frames:
        return codes
    pieces, total = [codes], codes.shape[1]
    while total < frames:
        pieces = [codes, pause] + pieces
        total += codes.shape[1] + pause.shape[1]
    return torch.cat(pieces, dim=1)[:, -frames:]
