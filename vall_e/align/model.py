"""The aligner network, its forward-sum loss, and hard durations by MAS.

Attention: frame t's query q_t and text position n's key k_n give the score -||q_t - k_n||^2
/ temperature, log-softmaxed over n and added to a beta-binomial prior (a soft diagonal that
makes a small model find the alignment in hundreds of steps instead of thousands). The
forward-sum loss is CTC over those per-frame log-probabilities with the target "every text
position once, in order": it sums over every monotonic path, so no alignment is ever given.
MAS then picks the single most likely monotonic path, where every position gets >= 1 frame.

The attention finds the acoustic change, which on our codec's frames comes a constant ~2
frames before the teacher's boundary (measured on the default shards: 2,115 of 5,784 inner
boundaries exactly 2 early, a mean of -2.4). A model trained on teacher durations reads
aligner durations through that offset (the default's level-0 loss on its own training
utterances: 1.3 with the teacher's, 5.4 with the raw aligner's, 2.0 shifted), so
``boundary_shift`` moves every inner boundary by a whole number of frames, calibrated
against teacher durations when the aligner is trained (``vall_e.align.train``).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from vall_e.errors import ConfigError
from vall_e.module_files import save_module

CONFIG_FILE = "aligner.json"
WEIGHTS_FILE = "aligner.safetensors"
_BLANK_LOGPROB = -1.0  # CTC blank: allowed, but never preferred over a text position


@dataclass
class AlignerConfig:
    n_text_tokens: int
    n_levels: int = 8
    codebook_size: int = 1024
    d_model: int = 128
    kernel: int = 3
    temperature: float = 1.0  # scores are -temperature x squared distance
    prior_scale: float = 1.0  # weight of the beta-binomial prior's log in the attention
    boundary_shift: int = 0  # frames every inner boundary moves after MAS (calibrated)


class _ConvStack(nn.Module):
    def __init__(self, d: int, kernel: int, layers: int):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(d, d, kernel, padding=kernel // 2) for _ in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, L, d]
        x = x.transpose(1, 2)
        for conv in self.convs:
            x = x + F.gelu(conv(x))
        return x.transpose(1, 2)


class Aligner(nn.Module):
    def __init__(self, config: AlignerConfig):
        super().__init__()
        self.config = config
        d = config.d_model
        self.text_embedding = nn.Embedding(config.n_text_tokens, d)
        self.code_embeddings = nn.ModuleList(nn.Embedding(config.codebook_size, d)
                                             for _ in range(config.n_levels))
        self.text_encoder = _ConvStack(d, config.kernel, 2)
        self.audio_encoder = _ConvStack(d, config.kernel, 3)
        self.key = nn.Linear(d, d)
        self.query = nn.Linear(d, d)

    def log_attention(self, text: torch.Tensor, codes: torch.Tensor, text_lengths: torch.Tensor,
                      frame_lengths: torch.Tensor) -> torch.Tensor:
        """text [B, N] ids, codes [B, K, T] -> log p(position n | frame t) [B, T, N], with the
        prior; padded positions get -inf."""
        keys = self.key(self.text_encoder(self.text_embedding(text)))
        frames = sum(emb(codes[:, level]) for level, emb in enumerate(self.code_embeddings))
        queries = self.query(self.audio_encoder(frames))
        distance = torch.cdist(queries.float(), keys.float()).pow(2)
        text_mask = torch.arange(text.shape[1], device=text.device)[None] < text_lengths[:, None]
        scores = (-self.config.temperature * distance).masked_fill(~text_mask[:, None], -math.inf)
        log_attn = F.log_softmax(scores, dim=-1)
        prior = beta_binomial_prior(text_lengths, frame_lengths, text.shape[1], codes.shape[2])
        return F.log_softmax(log_attn + self.config.prior_scale * prior.to(log_attn), dim=-1)

    @torch.no_grad()
    def durations(self, text: torch.Tensor, codes: torch.Tensor) -> np.ndarray:
        """Hard durations [N] (each >= 1, summing to T) of one utterance: text ids [N], codes
        [K, T] with T >= N."""
        return shift_boundaries(self.raw_durations(text, codes), self.config.boundary_shift)

    @torch.no_grad()
    def raw_durations(self, text: torch.Tensor, codes: torch.Tensor) -> np.ndarray:
        """``durations`` before the calibrated shift: MAS over the attention as it is."""
        if codes.shape[1] < len(text):
            raise ValueError(f"{codes.shape[1]} frames cannot hold {len(text)} text positions")
        log_attn = self.log_attention(text[None], codes[None], torch.tensor([len(text)]),
                                      torch.tensor([codes.shape[1]]))[0]
        return monotonic_durations(log_attn)


def shift_boundaries(durations, shift: int) -> np.ndarray:
    """``durations`` with every inner boundary moved ``shift`` frames (later if positive),
    then pushed apart where that crowds them: each position keeps >= 1 frame and the sum is
    unchanged, so the first and last positions absorb what the shift takes or gives."""
    durations = np.asarray(durations, dtype=np.int64)
    if shift == 0 or len(durations) < 2:
        return durations.astype(np.int32)
    total, n = int(durations.sum()), len(durations)
    inner = np.arange(n - 1)
    # boundary k (after position k) must leave k + 1 frames before it and n - 1 - k after it
    bounds = np.clip(np.cumsum(durations)[:-1] + shift, inner + 1, total - (n - 1 - inner))
    for k in range(1, n - 1):  # clipping can tie neighbours: keep them strictly increasing
        bounds[k] = max(bounds[k], bounds[k - 1] + 1)
    return np.diff(np.concatenate([[0], bounds, [total]])).astype(np.int32)


def forward_sum_loss(log_attn: torch.Tensor, text_lengths: torch.Tensor,
                     frame_lengths: torch.Tensor) -> torch.Tensor:
    """CTC over every monotonic path through all text positions (blank = column 0)."""
    padded = F.pad(log_attn, (1, 0), value=_BLANK_LOGPROB)
    losses = []
    for row in range(log_attn.shape[0]):
        n, t = int(text_lengths[row]), int(frame_lengths[row])
        logp = F.log_softmax(padded[row, :t, : n + 1], dim=-1)[:, None]  # [T, 1, n + 1]
        target = torch.arange(1, n + 1, device=log_attn.device)[None]
        losses.append(F.ctc_loss(logp, target, torch.tensor([t]), torch.tensor([n]),
                                 zero_infinity=True))
    return torch.stack(losses).mean()


def beta_binomial_prior(text_lengths: torch.Tensor, frame_lengths: torch.Tensor, n_max: int,
                        t_max: int, scale: float = 1.0) -> torch.Tensor:
    """log P(position n | frame t) [B, t_max, n_max] of a beta-binomial that moves along the
    diagonal (RAD-TTS's static prior); 0 outside each item's lengths."""
    from scipy.stats import betabinom

    out = torch.zeros(len(text_lengths), t_max, n_max)
    for row, (n, t) in enumerate(zip(text_lengths.tolist(), frame_lengths.tolist())):
        k = np.arange(n)
        frames = np.arange(1, t + 1)[:, None]
        pmf = betabinom(n - 1, scale * frames, scale * (t + 1 - frames)).pmf(k[None])
        out[row, :t, :n] = torch.from_numpy(np.log(np.maximum(pmf, 1e-8))).float()
    return out


def monotonic_durations(log_attn: torch.Tensor) -> np.ndarray:
    """The most likely monotonic path through ``log_attn`` [T, N] -> frames per position."""
    from monotonic_alignment_search import maximum_path

    t, n = log_attn.shape
    value = log_attn.T[None].float().contiguous()  # [1, N, T]: text x frames
    path = maximum_path(value, torch.ones(1, n, t, dtype=torch.bool))[0]
    return path.sum(dim=1).numpy().astype(np.int32)


def save_aligner(aligner: Aligner, directory: str | Path) -> Path:
    return save_module(aligner, aligner.config, directory, WEIGHTS_FILE, CONFIG_FILE)


def load_aligner(directory: str | Path) -> Aligner:
    directory = Path(directory)
    try:
        config = AlignerConfig(**json.loads((directory / CONFIG_FILE).read_text()))
        aligner = Aligner(config)
        aligner.load_state_dict(load_file(directory / WEIGHTS_FILE))
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        raise ConfigError(f"{directory}: not an aligner directory ({' '.join(str(exc).split())}); "
                          "train one with python -m vall_e.align train") from None
    return aligner.eval()
