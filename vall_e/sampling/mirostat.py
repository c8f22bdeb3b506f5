"""Mirostat v2: sampling that steers the surprise of each drawn token toward a target ``tau``.

The state is one running threshold ``mu`` per batch row, starting at 2 * tau (bits). Each step:
1. surprise of every token = -log2 p under softmax(logits);
2. drop tokens whose surprise > mu (the most likely token always stays), renormalize;
3. draw a token from the truncated distribution;
4. s = its surprise under the truncated distribution (as in the reference implementation and
   llama.cpp); mu -= eta * (s - tau).
A too-surprising draw lowers mu (tighter truncation next step), a too-safe one raises it, so the
average observed surprise settles near tau. AR only; incompatible with beam search.
"""
from __future__ import annotations

import math

import torch

_LN2 = math.log(2.0)


class MirostatState:
    """Per-generation mirostat v2 state: ``tau`` target surprise (bits), ``eta`` learning rate."""

    def __init__(self, tau: float, eta: float):
        if tau <= 0 or eta <= 0:
            raise ValueError(f"mirostat needs tau > 0 and eta > 0, got tau={tau}, eta={eta}")
        self.tau = tau
        self.eta = eta
        self.mu: torch.Tensor | None = None  # [B], created on the first step
        self.last_surprise: torch.Tensor | None = None  # [B], s of the latest draw (bits)

    def reset(self) -> None:
        """Forget mu (start of a new generation)."""
        self.mu = None
        self.last_surprise = None

    def sample(self, logits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """logits [B, V] -> tokens [B], updating ``mu`` by the rule in the module docstring."""
        logits = logits.float()
        batch = logits.shape[0]
        if self.mu is None or self.mu.shape[0] != batch:  # a new batch starts a new run
            self.mu = torch.full((batch,), 2.0 * self.tau, device=logits.device)
        surprise = -torch.log_softmax(logits, dim=-1) / _LN2
        keep = surprise <= self.mu[:, None]
        keep.scatter_(-1, logits.argmax(-1, keepdim=True), True)
        truncated = logits.masked_fill(~keep, -math.inf)
        log_q = torch.log_softmax(truncated, dim=-1)
        tokens = torch.multinomial(log_q.exp(), 1, generator=generator)
        observed = -log_q.gather(-1, tokens).squeeze(-1) / _LN2
        self.mu = self.mu - self.eta * (observed - self.tau)
        self.last_surprise = observed
        return tokens.squeeze(-1)
