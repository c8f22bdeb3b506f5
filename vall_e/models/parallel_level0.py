"""Level 0 without an AR (``model.alignment: durations``): a duration predictor, then masked
prediction of every frame at once.

The pointer AR (``model.alignment: pointer``) already knows each frame's phoneme, yet it still
samples level 0 one frame at a time, each frame conditioned on its own earlier guesses: on the
default corpus it stayed at 66-79% WER after an hour of CPU training, while a small parallel
model told each frame's phoneme reached 45% in five minutes (``../shared/ASSETS.md``). So this
mode drops the AR and keeps what made the pointer work:

- **durations**: one bidirectional pass over ``[DUR] [text] [prompt frames] [SEP]`` and the
  shared duration head at every text position give each phoneme (bos and eos hold the leading
  and trailing silence) its length, a class 1..``max_duration_frames``. The prompt is there so
  the pace follows the speaker.
- **level 0**: ``[mode 0] [text] [prompt] [SEP] [frames]`` where every frame carries its
  phoneme conditioning (``PointerConditioning``) plus either its level-0 code or the learned
  MASK vector. Training masks a share ``cos(u * pi / 2)`` (u uniform) of the frames and scores
  the masked ones (MaskGIT's schedule); inference starts all masked and unmasks the most
  confident frames over ``level0_steps`` passes (``vall_e.inference.parallel_decode``).
- levels 1.. come from the NAR exactly as for a pointer model.

The transformer, embeddings and heads are the AR+NAR's own, so a pointer checkpoint starts a
durations run with everything but the two vectors below (``train.init_from``). nn only.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vall_e.models.pointer import duration_loss, onset_targets

IGNORE = -100


class DurationsModeEmbeddings(nn.Module):
    """The two vectors this mode adds: the duration pass's mode token and the MASK input."""

    def __init__(self, d_model: int):
        super().__init__()
        self.duration_mode = nn.Parameter(torch.randn(1, d_model) * 0.02)
        self.mask = nn.Parameter(torch.randn(d_model) * 0.02)


def mask_share(progress: torch.Tensor | float) -> torch.Tensor:
    """MaskGIT's cosine schedule: the share of frames still masked at ``progress`` in [0, 1]."""
    return torch.cos(torch.as_tensor(progress, dtype=torch.float32) * math.pi / 2)


def _with_offset(model, x: torch.Tensor) -> torch.Tensor:
    return x if model.speaker_offset is None else x + model.speaker_offset


def duration_sequence(model, text_ids: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
    """[DUR] [text] [prompt frames] [SEP] -> [L, d]; text token k sits at row k + 1."""
    parts = [model.durations_mode.duration_mode, model.text_embedding(text_ids)]
    if prompt.shape[-1] > 0:
        parts.append(model.embed_frames(prompt))
    parts.append(model.special(model.sep_id))
    return _with_offset(model, torch.cat(parts))


def duration_logits(model, text: list, prompts: list) -> list[torch.Tensor]:
    """The duration head's logits [n_i, max_duration_frames] for every text position.

    Positions are the config's average pace (``tts_positions`` without a rate): nothing about
    the response is known yet, in training or at inference."""
    sequences, positions = [], []
    for text_ids, prompt in zip(text, prompts):
        sequences.append(duration_sequence(model, text_ids, prompt))
        positions.append(model.tts_positions(len(text_ids), prompt.shape[-1], 0))
    unscored = [torch.zeros(s.shape[0], dtype=torch.long, device=s.device) for s in sequences]
    batch = model.pack(sequences, unscored, positions)
    hidden = model.hidden_states(batch.x, batch.positions, batch.valid, causal=False)
    return [model.duration_head(hidden[row, 1:1 + len(t)]) for row, t in enumerate(text)]


def level0_sequence(model, text_ids: torch.Tensor, prompt: torch.Tensor, codes: torch.Tensor,
                    masked: torch.Tensor, durations: torch.Tensor) -> torch.Tensor:
    """[mode 0] [text] [prompt] [SEP] [frames] -> [L, d]; ``codes`` [T] are read where
    ``masked`` [T] is False, the MASK vector stands where it is True."""
    prefix = model.tts_prefix(0, text_ids, prompt)
    known = model.code_embeddings[0](codes.clamp(0, model.codebook_size - 1))
    frames = torch.where(masked[:, None], model.durations_mode.mask.to(known.dtype), known)
    return torch.cat([prefix, frames + model.pointer.frames(text_ids, durations)])


def _level0_batch(model, text: list, prompts: list, codes: list, masked: list, durations: list):
    sequences, positions, starts = [], [], []
    for text_ids, prompt, item_codes, item_masked, dur in zip(text, prompts, codes, masked, durations):
        seq = level0_sequence(model, text_ids, prompt, item_codes, item_masked, dur)
        frames = item_codes.shape[-1]
        sequences.append(seq)
        positions.append(model.tts_positions(len(text_ids), prompt.shape[-1], frames,
                                              model.speaking_rate(len(text_ids), frames)))
        starts.append(seq.shape[0] - frames)
    return sequences, positions, starts


def level0_logits(model, text: list, prompts: list, codes: list, masked: list,
                  durations: list) -> list[torch.Tensor]:
    """Level-0 logits [T_i, codebook] (STOP excluded) for every frame, one bidirectional pass."""
    sequences, positions, starts = _level0_batch(model, text, prompts, codes, masked, durations)
    unscored = [torch.zeros(s.shape[0], dtype=torch.long, device=s.device) for s in sequences]
    batch = model.pack(sequences, unscored, positions)
    hidden = model.hidden_states(batch.x, batch.positions, batch.valid, causal=False)
    return [model.level_logits(hidden[row, start:start + c.shape[-1]], 0)[:, :model.codebook_size]
            for row, (start, c) in enumerate(zip(starts, codes))]


def training_masks(lengths: list[int], device, generator: torch.Generator | None = None) -> list:
    """One mask [T] per item: ``ceil(cos(u pi / 2) T)`` random frames (at least one), u ~ U(0, 1)."""
    masks = []
    for length in lengths:
        share = mask_share(torch.rand((), generator=generator))
        count = max(1, math.ceil(float(share) * length))
        chosen = torch.randperm(length, generator=generator)[:count]
        mask = torch.zeros(length, dtype=torch.bool)
        mask[chosen] = True
        masks.append(mask.to(device))
    return masks


def level0_loss(model, text: list, prompts: list, responses: list, durations: list):
    """Cross-entropy and accuracy of the masked frames' level-0 codes."""
    codes = [r[0] for r in responses]
    masked = training_masks([c.shape[0] for c in codes], codes[0].device)
    sequences, positions, starts = _level0_batch(model, text, prompts, codes, masked, durations)
    targets = []
    for seq, start, item_codes, item_masked in zip(sequences, starts, codes, masked):
        target = torch.full((seq.shape[0],), IGNORE, dtype=torch.long, device=seq.device)
        target[start:] = torch.where(item_masked, item_codes, torch.full_like(item_codes, IGNORE))
        targets.append(target)
    batch = model.pack(sequences, targets, positions)
    hidden = model.hidden_states(batch.x, batch.positions, batch.valid, causal=False)
    scored = batch.targets != IGNORE
    logits = model.level_logits(hidden[scored], 0).float()
    target = batch.targets[scored]
    return F.cross_entropy(logits, target), (logits.argmax(-1) == target).float().mean()


def durations_loss(model, text: list, prompts: list, durations: list):
    """The duration head's cross-entropy over every text position, and its within-one-frame share."""
    logits = torch.cat(duration_logits(model, text, prompts))
    classes = torch.cat([onset_targets(d, model.config.max_duration_frames)[1] for d in durations])
    return duration_loss(logits, classes)
