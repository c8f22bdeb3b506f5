"""Beam search over level 0 with a KV cache: W hypotheses decoded as one batch of W rows.

Each step scores every alive row's processed log-probabilities (``TokenSampler.log_probs``:
penalties, temperature and filters apply, the draw does not), lets ``BeamSearch`` keep the
best W extensions by cumulative log-probability, reorders the cache and history rows to
follow their parents, and feeds the chosen tokens. The best finished hypothesis (length
normalized) is returned. This is a true beam search, not W independent greedy decoders.
"""
from __future__ import annotations

import torch

from vall_e.inference.decode_step import DecodeStats, cached_step
from vall_e.models.ar_nar import ARNARModel
from vall_e.models.layers import KVCache
from vall_e.sampling import TokenSampler
from vall_e.sampling.beam import BeamSearch


@torch.inference_mode()
def beam_autoregress(
    model: ARNARModel,
    prefix: torch.Tensor,
    prefix_positions: torch.Tensor,
    sampler: TokenSampler,
    max_steps: int,
    forced: torch.Tensor | None = None,
) -> tuple[list[torch.Tensor], list[bool], DecodeStats]:
    """``prefix`` [L, d] at rotary ``prefix_positions`` [L]; each step takes the next position."""
    width = sampler.params.beam_width
    device = prefix.device
    x = prefix[None].expand(width, -1, -1)
    n = prefix.shape[0]
    cache = KVCache(len(model.blocks))
    valid = torch.ones(width, n, dtype=torch.bool, device=device)
    hidden = model.hidden_states(x, prefix_positions[None].expand(width, n), valid,
                                 causal=True, cache=cache)
    history = (forced.expand(width, -1) if forced is not None
               else torch.zeros(width, 0, dtype=torch.long, device=device))
    # no max_length: with it the exact stopping bound is so loose that every search would run
    # to --max-ar-steps; the loop below still enforces that cap
    search = BeamSearch(width, model.stop_token)
    stats = DecodeStats(len(model.blocks))
    logits_of = lambda h: model.level_logits(h, 0)
    position = float(prefix_positions[-1]) + 1
    while not search.done and search.length < max_steps:
        log_probs = sampler.log_probs(logits_of(hidden[:, -1]), history)
        parents, tokens = search.step(log_probs)
        cache.reorder(parents)
        history = torch.cat([history[parents], tokens[:, None]], dim=1)
        step_input = model.code_embeddings[0](tokens.clamp(max=model.codebook_size - 1))[:, None]
        positions = torch.full((width, 1), position, device=device)
        hidden, layers_run = cached_step(model, step_input, positions, cache, logits_of, sampler)
        stats.layers_run.append(layers_run)
        position += 1
    stopped = bool(search.finished)
    return [torch.tensor(search.best(), dtype=torch.long, device=device)], [stopped], stats
