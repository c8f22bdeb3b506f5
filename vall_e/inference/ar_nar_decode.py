"""Decoding loops of the AR+NAR model: AR over level 0 with a KV cache, NAR per level, STT.

Batched inputs are left-padded for the AR (so every item's next position is the last column
and one cached step serves all items) and right-padded for the NAR (one parallel pass per
level). Every loop is bounded by ``max_steps``: generation always ends.
"""
from __future__ import annotations

import torch
from torch.nn.utils.rnn import pad_sequence

from vall_e.models.ar_nar import ARNARModel
from vall_e.models.layers import KVCache
from vall_e.sampling import TokenSampler


def _left_pad(sequences: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Left-pad [L_i, d] sequences -> x [B, T, d], valid [B, T], positions [B, T]."""
    lengths = torch.tensor([s.shape[0] for s in sequences])
    t = int(lengths.max())
    x = pad_sequence([s.flip(0) for s in sequences], batch_first=True).flip(1)
    device = x.device
    valid = (torch.arange(t)[None, :] >= (t - lengths)[:, None]).to(device)
    positions = (valid.long().cumsum(1) - 1).clamp(min=0)
    return x, valid, positions


@torch.inference_mode()
def autoregress(
    model: ARNARModel,
    prefixes: list[torch.Tensor],
    embed_token,
    logits_of,
    sampler: TokenSampler,
    stop_token: int,
    max_steps: int,
) -> tuple[list[torch.Tensor], list[bool]]:
    """Shared cached loop: feed prefixes, then one sampled token per step until STOP.

    Returns each item's tokens (STOP excluded) and whether it stopped by itself (False when
    ``max_steps`` cut it off).
    """
    x, valid, positions = _left_pad(prefixes)
    batch = x.shape[0]
    cache = KVCache(len(model.blocks))
    hidden = model.hidden_states(x, positions, valid, causal=True, cache=cache)
    next_position = positions[:, -1] + 1
    history = torch.zeros(batch, 0, dtype=torch.long, device=x.device)
    finished = torch.zeros(batch, dtype=torch.bool, device=x.device)
    stopped = torch.zeros(batch, dtype=torch.bool, device=x.device)
    for _ in range(max_steps):
        tokens = sampler(logits_of(hidden[:, -1]), history)
        newly_stopped = (tokens == stop_token) & ~finished
        stopped |= newly_stopped
        finished |= newly_stopped
        tokens = torch.where(finished, torch.full_like(tokens, stop_token), tokens)
        history = torch.cat([history, tokens[:, None]], dim=1)
        if bool(finished.all()):
            break
        # finished rows keep running (their outputs are discarded): feed them a valid id
        step_input = embed_token(torch.where(finished, torch.zeros_like(tokens), tokens))[:, None]
        step_valid = torch.ones(batch, 1, dtype=torch.bool, device=x.device)
        hidden = model.hidden_states(
            step_input, next_position[:, None], step_valid, causal=True, cache=cache
        )
        next_position = next_position + 1
    outputs = []
    for row in history:
        keep = row != stop_token
        end = int(keep.logical_not().nonzero()[0]) if not bool(keep.all()) else row.shape[0]
        outputs.append(row[:end])
    return outputs, stopped.tolist()


def generate_ar(
    model: ARNARModel,
    text: list[torch.Tensor],
    prompts: list[torch.Tensor],
    sampler: TokenSampler,
    max_steps: int,
) -> tuple[list[torch.Tensor], list[bool]]:
    """Level-0 codes for each (text ids, prompt codes [K, Tp]) pair."""
    prefixes = [model.tts_prefix(0, t, p) for t, p in zip(text, prompts)]
    return autoregress(
        model,
        prefixes,
        embed_token=model.code_embeddings[0],
        logits_of=lambda h: model.level_logits(h, 0),
        sampler=sampler,
        stop_token=model.stop_token,
        max_steps=max_steps,
    )


@torch.inference_mode()
def generate_nar(
    model: ARNARModel,
    text: list[torch.Tensor],
    prompts: list[torch.Tensor],
    level0: list[torch.Tensor],
    sampler: TokenSampler,
    n_levels: int | None = None,
) -> list[torch.Tensor]:
    """Fill levels 1..n_levels-1 given level 0; returns codes [n_levels, T] per item."""
    n_levels = model.n_levels if n_levels is None else n_levels
    codes = [l0[None, :] for l0 in level0]
    for level in range(1, n_levels):
        sequences, starts = [], []
        for text_ids, prompt, current in zip(text, prompts, codes):
            prefix = model.tts_prefix(level, text_ids, prompt)
            starts.append(prefix.shape[0])
            sequences.append(torch.cat([prefix, model.embed_frames(current, level)]))
        batch = model.pack(sequences, [torch.zeros(s.shape[0], dtype=torch.long) for s in sequences])
        hidden = model.hidden_states(batch.x, batch.positions, batch.valid, causal=False)
        for index, (start, current) in enumerate(zip(starts, codes)):
            length = current.shape[1]
            logits = model.level_logits(hidden[index, start : start + length], level)
            new_level = sampler(logits[None])[0]
            codes[index] = torch.cat([current, new_level[None, :]])
    return codes


def generate_stt(
    model: ARNARModel,
    audio: list[torch.Tensor],
    bos_id: int,
    eos_id: int,
    sampler: TokenSampler,
    max_steps: int,
) -> list[torch.Tensor]:
    """Phoneme ids (bos/eos excluded) transcribed from audio codes [K, T]."""
    device = model.text_embedding.weight.device
    bos = model.text_embedding(torch.tensor([bos_id], device=device))
    prefixes = [torch.cat([model.stt_prefix(codes), bos]) for codes in audio]
    outputs, _ = autoregress(
        model,
        prefixes,
        embed_token=model.text_embedding,
        logits_of=model.stt_logits,
        sampler=sampler,
        stop_token=eos_id,
        max_steps=max_steps,
    )
    return outputs
