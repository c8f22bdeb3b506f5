"""Guided attention: a training-only loss that teaches some heads to read the text in order.

A decoder-only TTS model must discover for itself which phoneme each audio frame speaks. On a
small corpus it tends to memorize the training audio long before it finds that alignment (the
default model's AR reached train loss 1.7 with validation loss 3.4 and a weak reliance on its
text). Tachibana et al. (DC-TTS, 2017) showed that a diagonal prior on the attention between
audio frames and characters makes alignment appear within a few thousand steps.

Here the prior is applied inside the shared decoder: for a few designated heads (the first
``n_heads`` heads of each layer in ``layers``), the attention of every response query (the
position that predicts audio frame j of T) is pushed towards the text keys near the diagonal:

    loss = -log sum_n A[j, n] * exp(-(n / N - j / T)^2 / (2 sigma^2))

where A is the head's softmax over *all* keys it may attend to, n runs over the N text
positions (bos .. eos). The loss is 0 when the head looks only at the phoneme the diagonal
predicts, and it also rewards putting the head's mass on the text at all: the guided heads
become reading heads. Nothing changes at inference; the heads keep what they learned.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class GuideSpan:
    """Where one item's text keys and response queries sit in its packed sequence."""

    text_start: int
    text_length: int
    query_start: int
    query_length: int


@dataclass
class AttentionProbe:
    """Collects the attention logits of the guided heads during one forward pass.

    ``hidden_states`` fills ``logits`` (layer -> [B, n_heads, T, T], masked keys at -inf);
    the loss function (``ar_loss``) fills ``spans``; ``loss()`` scores them.
    """

    layers: tuple
    n_heads: int = 1
    sigma: float = 0.2
    logits: dict = field(default_factory=dict)
    spans: list = field(default_factory=list)

    def wants(self, layer: int) -> bool:
        return layer in self.layers

    def record(self, layer: int, logits: torch.Tensor) -> None:
        self.logits[layer] = logits

    def loss(self) -> torch.Tensor:
        if not self.logits or not self.spans:
            raise RuntimeError("AttentionProbe.loss() needs a forward pass through a guided layer "
                               "and the items' spans")
        values = [diagonal_prior_loss(logits, self.spans, self.sigma) for logits in self.logits.values()]
        return torch.stack(values).mean()


def log_diagonal_prior(text_length: int, query_length: int, sigma: float,
                       device: torch.device) -> torch.Tensor:
    """log exp(-(n/N - j/T)^2 / (2 sigma^2)) as [query_length, text_length]."""
    n = torch.arange(text_length, device=device, dtype=torch.float32) / max(text_length - 1, 1)
    j = torch.arange(query_length, device=device, dtype=torch.float32) / max(query_length - 1, 1)
    return -((n[None, :] - j[:, None]) ** 2) / (2 * sigma**2)


def per_head_alignment(logits: torch.Tensor, spans: list, sigma: float,
                       with_text_mass: bool = False):
    """Per head, averaged over items and their response queries: the prior loss
    ``-log sum_n A[j, n] prior[j, n]`` [H] and, with ``with_text_mass``, the share of
    attention that lands on the text at all [H] (else None).

    logits: [B, H, T, T] pre-softmax scores with disallowed keys at -inf.
    """
    log_attention = torch.log_softmax(logits.float(), dim=-1)
    losses, masses = [], []
    for row, span in enumerate(spans):
        queries = slice(span.query_start, span.query_start + span.query_length)
        keys = slice(span.text_start, span.text_start + span.text_length)
        on_text = log_attention[row, :, queries, keys]  # [H, Tq, N]
        prior = log_diagonal_prior(span.text_length, span.query_length, sigma, logits.device)
        losses.append(-torch.logsumexp(on_text + prior, dim=-1).mean(-1))
        if with_text_mass:
            masses.append(on_text.exp().sum(-1).mean(-1))
    mass = torch.stack(masses).mean(0) if with_text_mass else None
    return torch.stack(losses).mean(0), mass


def diagonal_prior_loss(logits: torch.Tensor, spans: list, sigma: float) -> torch.Tensor:
    """The guided-attention loss: the prior loss averaged over items, heads and queries."""
    return per_head_alignment(logits, spans, sigma)[0].mean()
