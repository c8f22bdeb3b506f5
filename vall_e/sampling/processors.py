"""Pure logits -> logits functions. Each states its rule in its docstring.

Contract shared by every function here:
- ``logits`` is [B, V] (one row per item; the history-based ones also accept [B, T, V] with one
  history row per item, applied to every position of that item) and is never modified in place;
- a removed token gets ``-inf``; a token that was finite stays finite (overflow from a huge
  factor is clamped to the float range) so a row never becomes all ``-inf``: every filter keeps
  at least the row's most likely token;
- ``history`` is [B, t] token ids, oldest first; ids outside [0, V) (padding) are ignored.
"""
from __future__ import annotations

import math

import torch

from vall_e.sampling.dry import dry_match_lengths


def keep_finite(out: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Clamp entries of ``out`` that were finite in ``logits`` back into the float range.

    Why: a penalty may overflow (e.g. -1e30 * 1e10 in float32); the token should become very
    unlikely, not impossible, or a row could end all ``-inf``.
    """
    big = torch.finfo(out.dtype).max
    return torch.where(torch.isfinite(logits), out.clamp(-big, big), out)


def apply_temperature(logits: torch.Tensor, temperature: float | torch.Tensor) -> torch.Tensor:
    """Divide logits by ``temperature`` (> 0; a float or one value per row [B]).

    < 1 sharpens the distribution, > 1 flattens it. The row maximum is subtracted first (the
    softmax is unchanged) so a tiny temperature cannot overflow the best logit to ``inf``.
    """
    temperature = torch.as_tensor(temperature, dtype=logits.dtype, device=logits.device)
    if bool((temperature <= 0).any()):
        raise ValueError("apply_temperature needs temperature > 0; 0 means greedy (argmax)")
    if temperature.dim() == 1:
        temperature = temperature[:, None]
    top = logits.max(dim=-1, keepdim=True).values
    shifted = logits - torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    return shifted / temperature


def entropy_varentropy(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row entropy H = E[-log p] and varentropy = Var[-log p] of softmax(logits), in nats.

    Low entropy = one confident choice; low varentropy = the surprise is evenly spread.
    Used by dynamic temperature and by layer-skip's early-exit test.
    """
    log_p = torch.log_softmax(logits.float(), dim=-1)
    p = log_p.exp()
    live = p > 0  # 0 * -inf would be NaN
    surprise = torch.where(live, -log_p, torch.zeros_like(log_p))
    entropy = (p * surprise).sum(-1)
    varentropy = (p * (surprise - entropy[..., None]).pow(2) * live).sum(-1)
    return entropy, varentropy


def is_confident(logits: torch.Tensor, entropy_threshold: float,
                 varentropy_threshold: float) -> torch.Tensor:
    """Layer-skip exit test per row: entropy < entropy_threshold and varentropy < its threshold."""
    entropy, varentropy = entropy_varentropy(logits)
    return (entropy < entropy_threshold) & (varentropy < varentropy_threshold)


def dynamic_temperature(logits: torch.Tensor, min_temp: float, max_temp: float) -> torch.Tensor:
    """Per-row temperature [B] = min_temp + (max_temp - min_temp) * H / log(n).

    H is the entropy of softmax(logits) and n the number of finite logits, so H / log(n) is in
    [0, 1]: a confident (one-hot-like) row gets ``min_temp``, a uniform row gets ``max_temp``.
    """
    entropy, _ = entropy_varentropy(logits)
    n = torch.isfinite(logits).sum(-1).clamp(min=1).to(entropy.dtype)
    normalized = torch.where(n > 1, entropy / n.log().clamp(min=1e-12), torch.zeros_like(entropy))
    return min_temp + (max_temp - min_temp) * normalized.clamp(0.0, 1.0)


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep exactly the ``k`` largest logits of each row (ties broken by index); 0 = off."""
    if k <= 0 or k >= logits.shape[-1]:
        return logits.clone()
    keep = torch.zeros_like(logits, dtype=torch.bool)
    keep.scatter_(-1, logits.topk(k, dim=-1).indices, True)
    return logits.masked_fill(~keep, -math.inf)


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the smallest set of most likely tokens whose cumulative probability is >= ``p``.

    A token is kept when the probability mass strictly above it is < p, so the top token is
    always kept; p = 1 = off.
    """
    if p >= 1.0:
        return logits.clone()
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    probs = torch.softmax(sorted_logits.float(), dim=-1)
    mass_above = probs.cumsum(-1) - probs
    keep_sorted = mass_above < p
    keep_sorted[..., 0] = True
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return logits.masked_fill(~keep, -math.inf)


def min_p_filter(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    """Drop tokens with p < min_p * p_max; 0 = off.

    Done in log space (log p - log p_max = logit - max logit) so huge logits cannot
    underflow every probability; the top token always survives since min_p < 1.
    """
    if min_p <= 0:
        return logits.clone()
    gap = logits - logits.max(dim=-1, keepdim=True).values
    return logits.masked_fill(gap < math.log(min_p), -math.inf)


def _in_vocab(history: torch.Tensor, vocab: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids with out-of-range ones replaced by 0, mask of the valid ones)."""
    valid = (history >= 0) & (history < vocab)
    return torch.where(valid, history, torch.zeros_like(history)), valid


def _per_item(values: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Broadcast a per-item [B, V] tensor over the middle dims of logits [B, ..., V]."""
    return values.view(values.shape[0], *([1] * (logits.dim() - 2)), values.shape[-1])


def repetition_penalty(logits: torch.Tensor, history: torch.Tensor | None, penalty: float,
                       decay: float = 0.0) -> torch.Tensor:
    """Penalize tokens seen in ``history``: positive logits / factor, negative logits * factor.

    A token last seen d steps back (d = 1: the newest history token) gets
    factor = penalty ** (1 / (1 + decay * (d - 1))): the full ``penalty`` at d = 1, fading to 1
    with distance when decay > 0. A token seen several times uses its nearest occurrence.
    penalty > 1 discourages repeats, < 1 encourages them, 1 = off.
    """
    if penalty == 1.0 or history is None or history.shape[-1] == 0:
        return logits.clone()
    vocab, length = logits.shape[-1], history.shape[-1]
    ids, valid = _in_vocab(history, vocab)
    distance = torch.arange(length, 0, -1, device=logits.device, dtype=torch.float32)
    distance = torch.where(valid, distance.expand_as(ids), torch.full_like(distance, math.inf))
    nearest = torch.full((ids.shape[0], vocab), math.inf, device=logits.device)
    nearest = nearest.scatter_reduce(-1, ids, distance, reduce="amin")
    seen = torch.isfinite(nearest)
    exponent = 1.0 / (1.0 + decay * (nearest.clamp(max=1e30) - 1.0))
    factor = torch.where(seen, torch.pow(float(penalty), exponent), torch.ones_like(nearest))
    factor = _per_item(factor.to(logits.dtype), logits)
    out = torch.where(logits > 0, logits / factor, logits * factor)
    return keep_finite(out, logits)


def length_penalty(logits: torch.Tensor, stop_token: int, length: int,
                   penalty: float) -> torch.Tensor:
    """Shift the STOP logit by -penalty * length (length = tokens generated so far).

    The shift grows with the sequence: penalty > 0 makes stopping ever less likely (delays
    STOP), penalty < 0 ever more likely (hastens it); 0 = off. Other logits are untouched.
    """
    out = logits.clone()
    if penalty == 0.0 or not 0 <= stop_token < logits.shape[-1]:
        return out
    out[..., stop_token] = out[..., stop_token] - penalty * length
    return keep_finite(out, logits)


def dry_penalty(logits: torch.Tensor, history: torch.Tensor | None, multiplier: float,
                base: float, allowed_length: int) -> torch.Tensor:
    """DRY ("don't repeat yourself"): penalize the token that would extend a repeat.

    For each candidate c, n = the longest suffix of ``history`` that also occurred earlier and
    was followed there by c. If n >= allowed_length, c's logit -= multiplier * base ** (n -
    allowed_length); every other logit is untouched. 0 multiplier = off. Exact, O(t) per row
    (a Z-function scan, see ``vall_e.sampling.dry``).
    """
    if multiplier == 0.0 or history is None or history.shape[-1] < 2:
        return logits.clone()
    vocab = logits.shape[-1]
    longest = torch.zeros(history.shape[0], vocab, dtype=torch.float64)
    for row, tokens in enumerate(history.tolist()):
        for token, n in dry_match_lengths(tokens).items():
            if 0 <= token < vocab:
                longest[row, token] = n
    excess = longest - allowed_length
    big = torch.finfo(logits.dtype).max
    amount = torch.where(excess >= 0, (multiplier * base ** excess).clamp(max=big), 0.0)
    amount = _per_item(amount.to(logits.device, logits.dtype), logits)
    return keep_finite(logits - amount, logits)
