"""Pure logits -> logits functions. Each states its rule in its docstring.

They operate on the last dimension of ``logits`` [B, V] and never modify their input.
"""
from __future__ import annotations

import torch


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Divide logits by ``temperature`` (> 0): < 1 sharpens the distribution, > 1 flattens it."""
    if temperature <= 0:
        raise ValueError("apply_temperature needs temperature > 0; 0 means greedy (argmax)")
    return logits / temperature
