"""Transformer building blocks: RMSNorm, rotary positions, attention with a KV cache, MLP.

The KV cache is preallocated and grown by doubling, so one decoding step costs attention over
the cached keys plus a constant amount of work: the time per AR step stays flat with length
(``scripts/bench_decode.py`` shows it). Positions are explicit ``[B, T]`` tensors so that left
padding in batched decoding keeps every item's positions contiguous.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # normalise in float32: bf16 sums of squares lose too much precision
        norm = x.float().pow(2).mean(-1, keepdim=True).add(self.eps).rsqrt()
        return (x.float() * norm).type_as(x) * self.weight


class RotaryEmbedding(nn.Module):
    """cos/sin tables for rotary position embeddings, computed for the positions asked."""

    def __init__(self, head_dim: int, base: float = 10000.0):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """positions [B, T] -> cos, sin [B, 1, T, head_dim] (broadcast over heads)."""
        angles = positions.float()[..., None] * self.inv_freq
        angles = torch.cat([angles, angles], dim=-1)[:, None]
        return angles.cos(), angles.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return (x * cos + rotated * sin).type_as(x)


class LayerKVCache:
    """Keys and values of one layer, preallocated [B, H, capacity, D]; grows by doubling."""

    def __init__(self):
        self.keys: torch.Tensor | None = None
        self.values: torch.Tensor | None = None
        self.length = 0

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        new_length = self.length + k.shape[2]
        if self.keys is None or new_length > self.keys.shape[2]:
            self._grow(k, max(new_length, 2 * (self.keys.shape[2] if self.keys is not None else 64)))
        self.keys[:, :, self.length:new_length] = k
        self.values[:, :, self.length:new_length] = v
        self.length = new_length
        return self.keys[:, :, :new_length], self.values[:, :, :new_length]

    def _grow(self, like: torch.Tensor, capacity: int) -> None:
        b, h, _, d = like.shape
        keys = like.new_zeros(b, h, capacity, d)
        values = like.new_zeros(b, h, capacity, d)
        if self.keys is not None:
            keys[:, :, : self.length] = self.keys[:, :, : self.length]
            values[:, :, : self.length] = self.values[:, :, : self.length]
        self.keys, self.values = keys, values

    def reorder(self, rows: torch.Tensor) -> None:
        """Keep batch rows in the order of ``rows`` (beam search moves hypotheses around)."""
        if self.keys is not None:
            self.keys, self.values = self.keys[rows], self.values[rows]

    def truncate(self, length: int) -> None:
        """Forget everything after ``length`` positions (used to roll back speculative steps)."""
        self.length = min(self.length, length)


class KVCache:
    """One LayerKVCache per transformer layer, plus the key-padding mask seen so far."""

    def __init__(self, n_layers: int):
        self.layers = [LayerKVCache() for _ in range(n_layers)]
        self.key_valid: torch.Tensor | None = None  # [B, length] bool

    @property
    def length(self) -> int:
        return self.layers[0].length

    def reorder(self, rows: torch.Tensor) -> None:
        for layer in self.layers:
            layer.reorder(rows)
        if self.key_valid is not None:
            self.key_valid = self.key_valid[rows]

    def extend_mask(self, valid: torch.Tensor) -> torch.Tensor:
        self.key_valid = valid if self.key_valid is None else torch.cat([self.key_valid, valid], 1)
        return self.key_valid


class Attention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.out = nn.Linear(d_model, d_model, bias=False)
        self.dropout = dropout

    def forward(
        self,
        x: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor],
        mask: torch.Tensor,
        cache: LayerKVCache | None = None,
    ) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k = apply_rotary(q, *rope), apply_rotary(k, *rope)
        if cache is not None:
            k, v = cache.append(k, v)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0
        )
        return self.out(y.transpose(1, 2).reshape(b, t, d))

    def head_logits(self, x: torch.Tensor, rope, mask: torch.Tensor, n_heads: int) -> torch.Tensor:
        """Pre-softmax scores [B, n_heads, T, T] of the first heads, disallowed keys at -inf.

        Recomputes q and k from the same weights as ``forward`` (for guided attention, which
        needs the scores SDPA never returns); gradients reach the same projections.
        """
        b, t, d = x.shape
        q, k, _ = self.qkv(x).view(b, t, 3, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q = apply_rotary(q[:, :n_heads], *rope)
        k = apply_rotary(k[:, :n_heads], *rope)
        scores = q @ k.transpose(-1, -2) / self.head_dim**0.5
        return scores.masked_fill(~mask, float("-inf"))

    def fill_cache(self, x: torch.Tensor, rope, cache: LayerKVCache) -> None:
        """Append keys/values computed from x without attending (for skipped layers)."""
        b, t, d = x.shape
        _, k, v = self.qkv(x).view(b, t, 3, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        cache.append(apply_rotary(k, *rope), v)


class MLP(nn.Module):
    """SwiGLU feed-forward, as in Llama."""

    def __init__(self, d_model: int, ffn_mult: float):
        super().__init__()
        hidden = int(d_model * ffn_mult * 2 / 3)
        self.gate = nn.Linear(d_model, hidden, bias=False)
        self.up = nn.Linear(d_model, hidden, bias=False)
        self.down = nn.Linear(hidden, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int, ffn_mult: float, dropout: float,
                 attention_dropout: float = 0.0):
        super().__init__()
        self.attn_norm = RMSNorm(d_model)
        self.attn = Attention(d_model, n_heads, attention_dropout)
        self.mlp_norm = RMSNorm(d_model)
        self.mlp = MLP(d_model, ffn_mult)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, rope, mask, cache: LayerKVCache | None = None) -> torch.Tensor:
        x = x + self.drop(self.attn(self.attn_norm(x), rope, mask, cache))
        return x + self.drop(self.mlp(self.mlp_norm(x)))


def attention_mask(query_valid_len: int, key_valid: torch.Tensor, causal: bool,
                   isolated_prefix: torch.Tensor | None = None) -> torch.Tensor:
    """Boolean mask [B, 1, Tq, Tk] (True = may attend) for the last ``query_valid_len`` keys.

    Queries are the last Tq positions of the key sequence. Every query may always attend to
    itself, so rows that belong to padding never become all-masked (which would give NaN).
    ``isolated_prefix`` [B]: the first that many keys of each row form a prefix whose queries
    see only the prefix (everything after it still sees the prefix), so the prefix's states
    do not depend on what follows and can be cached once (``model.shared_prefix``).
    """
    b, tk = key_valid.shape
    tq = query_valid_len
    mask = key_valid[:, None, None, :].expand(b, 1, tq, tk).clone()
    q_pos = torch.arange(tk - tq, tk, device=key_valid.device)
    k_pos = torch.arange(tk, device=key_valid.device)
    if causal:
        mask &= k_pos[None, :] <= q_pos[:, None]
    if isolated_prefix is not None:
        ends = isolated_prefix.to(key_valid.device)[:, None, None, None]
        mask &= ~((q_pos[None, None, :, None] < ends) & (k_pos[None, None, None, :] >= ends))
    mask |= k_pos[None, :] == q_pos[:, None]
    return mask
