"""Beam search over level 0 with a KV cache: W hypotheses decoded as one batch of W rows.

The search (scores, parents, the best finished hypothesis) is ``decode_loop.beam_decode``,
shared with LLM-TTS; here is what the AR+NAR model adds: its prefix embeddings, its KV cache
reordered to follow the parents, and level-0 code embeddings fed at rotary positions.
"""
from __future__ import annotations

import torch

from vall_e.inference.decode_loop import beam_decode
from vall_e.inference.decode_step import DecodeStats, cached_step
from vall_e.models.ar_nar import ARNARModel
from vall_e.models.layers import KVCache
from vall_e.sampling import TokenSampler


@torch.inference_mode()
def beam_autoregress(
    model: ARNARModel,
    prefix: torch.Tensor,
    prefix_positions: torch.Tensor,
    sampler: TokenSampler,
    max_steps: int,
    forced: torch.Tensor | None = None,
) -> tuple[list[torch.Tensor], list[bool], DecodeStats]:
    """``prefix`` [L, d] at rotary ``prefix_positions`` [L]; each step takes the next position.
    The search itself is ``decode_loop.beam_decode``, the LLM-TTS family's too."""
    width = sampler.params.beam_width
    device = prefix.device
    x = prefix[None].expand(width, -1, -1)
    n = prefix.shape[0]
    cache = KVCache(len(model.blocks))
    valid = torch.ones(width, n, dtype=torch.bool, device=device)
    hidden = model.hidden_states(x, prefix_positions[None].expand(width, n), valid,
                                 causal=True, cache=cache)
    history = forced.expand(width, -1) if forced is not None else None
    stats = DecodeStats(len(model.blocks))
    logits_of = lambda h: model.level_logits(h, 0)  # noqa: E731
    state = {"position": float(prefix_positions[-1]) + 1}

    def advance(tokens: torch.Tensor, parents: torch.Tensor) -> torch.Tensor:
        cache.reorder(parents)
        step_input = model.code_embeddings[0](tokens.clamp(max=model.codebook_size - 1))[:, None]
        positions = torch.full((width, 1), state["position"], device=device)
        hidden, layers_run = cached_step(model, step_input, positions, cache, logits_of, sampler)
        stats.layers_run.append(layers_run)
        state["position"] += 1
        return logits_of(hidden[:, -1])

    best, stopped = beam_decode(logits_of(hidden[:, -1]), advance, sampler, model.stop_token,
                                max_steps, history)
    return [torch.tensor(best, dtype=torch.long, device=device)], [stopped], stats
