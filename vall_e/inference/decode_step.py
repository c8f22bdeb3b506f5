"""The pieces every AR+NAR decoding loop shares: its statistics, left padding, one cached step.

A leaf module (it imports only the model's layers and the sampler's type), so the loops that
use it (``ar_nar_decode``, ``ar_beam``, ``pointer_decode``) never import one another for it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.nn.utils.rnn import pad_sequence

from vall_e.models.layers import KVCache
from vall_e.sampling import TokenSampler
from vall_e.sampling.processors import is_confident


@dataclass
class DecodeStats:
    n_layers: int
    layers_run: list = field(default_factory=list)  # per AR step (batch-wide)
    refine_changed: int | None = None  # tokens refine-on-stop changed

    @property
    def layer_fraction(self) -> float:
        """Share of the layers the AR steps ran (1.0 without layer-skip)."""
        if not self.layers_run:
            return 1.0
        return sum(self.layers_run) / (len(self.layers_run) * self.n_layers)


def left_pad(
    sequences: list[torch.Tensor], positions: list[torch.Tensor] | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Left-pad [L_i, d] sequences -> x [B, T, d], valid [B, T], positions [B, T] (float).

    ``positions`` [L_i] per sequence (``ARNARModel.tts_positions``); default 0..L_i-1.
    Left, so every row's next position is the last column and one cached step serves all rows.
    """
    lengths = torch.tensor([s.shape[0] for s in sequences])
    t = int(lengths.max())
    x = pad_sequence([s.flip(0) for s in sequences], batch_first=True).flip(1)
    device = x.device
    valid = (torch.arange(t)[None, :] >= (t - lengths)[:, None]).to(device)
    if positions is None:
        return x, valid, (valid.long().cumsum(1) - 1).clamp(min=0).float()
    padded = pad_sequence([p.flip(0) for p in positions], batch_first=True).flip(1)
    return x, valid, padded.to(device)


def cached_step(model, x, positions, cache: KVCache, logits_of, sampler: TokenSampler):
    """One cached causal step of an ``ARNARModel``; with layer-skip it may exit early.
    -> (hidden [B,1,d], layers run)."""
    valid = torch.ones(x.shape[0], x.shape[1], dtype=torch.bool, device=x.device)
    p = sampler.params
    if p.layer_skip:
        def may_exit(hidden: torch.Tensor) -> bool:  # every row confident under both thresholds
            return bool(is_confident(logits_of(hidden), p.layer_skip_entropy_threshold,
                                     p.layer_skip_varentropy_threshold).all())

        return model.step_with_layer_skip(x, positions, valid, cache, may_exit,
                                          p.layer_skip_exit_layer)
    return model.hidden_states(x, positions, valid, causal=True, cache=cache), len(model.blocks)
