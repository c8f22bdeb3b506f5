"""Phoneme-synchronous conditioning of the AR+NAR (``model.alignment: pointer``).

With explicit alignment the network no longer has to discover through attention which phoneme
a frame speaks (what cost the unaligned default ~10 CPU-hours without becoming intelligible).
Every response frame's input also carries ``PointerConditioning``: the embedding of the text
token it belongs to plus the embedding of its place inside that token (0, 1, 2, ... capped at
``max_inside_frames - 1``). In training the frame -> token map comes from the durations in
the shards; at inference from the AR's own pointer, which ``advance`` logits move.

``onset_targets(durations, max_frames)``: a token's length is predicted once, at its first
frame (from the hidden state that also predicts that frame's code): the AR's duration head is
a classifier over 1..``max_frames`` frames. At inference the pointer holds each token for
the predicted length divided by the speed, so ``--speed`` scales every phoneme exactly.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def frame_positions(durations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """durations [n] -> (token index per frame [T], place inside the token per frame [T])."""
    durations = durations.long()
    index = torch.repeat_interleave(torch.arange(len(durations), device=durations.device), durations)
    starts = torch.repeat_interleave(torch.cumsum(durations, 0) - durations, durations)
    return index, torch.arange(len(index), device=durations.device) - starts


def onset_targets(durations: torch.Tensor, max_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(frame index of every token's first frame [n], its length as a class 0..max_frames-1 [n])."""
    durations = durations.long()
    onsets = torch.cumsum(durations, 0) - durations
    return onsets, durations.clamp(1, max_frames) - 1


class PointerConditioning(nn.Module):
    """token embedding + inside-token place embedding, added to a frame's input."""

    def __init__(self, n_text_tokens: int, d_model: int, max_inside_frames: int):
        super().__init__()
        self.max_inside = max_inside_frames
        self.token = nn.Embedding(n_text_tokens, d_model)
        self.inside = nn.Embedding(max_inside_frames, d_model)

    def step(self, token_ids: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
        """token ids [...] and places [...] -> [..., d]."""
        return self.token(token_ids) + self.inside(inside.clamp(max=self.max_inside - 1))

    def frames(self, text_ids: torch.Tensor, durations: torch.Tensor) -> torch.Tensor:
        """Conditioning of every frame of an utterance: text ids [n], durations [n] -> [T, d]."""
        index, inside = frame_positions(durations)
        return self.step(text_ids[index], inside)


def duration_loss(logits: torch.Tensor, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of the duration head at token onsets and the share within one frame."""
    loss = F.cross_entropy(logits.float(), classes)
    return loss, ((logits.argmax(-1) - classes).abs() <= 1).float().mean()


def expected_frames(logits: torch.Tensor) -> torch.Tensor:
    """The mean length (frames, float) under the duration head's distribution [..., D]."""
    frames = torch.arange(1, logits.shape[-1] + 1, device=logits.device, dtype=torch.float32)
    return (torch.softmax(logits.float(), -1) * frames).sum(-1)
