"""The speaker encoder network: log-mel frames in, a unit-length voice embedding out.

Trained on a corpus's own voices (``vall_e.eval.voice_encoder.train_voice_encoder``,
``scripts/train_voice_encoder.py``). It is a second voice judge beside Resemblyzer
(``vall_e.eval``) and, frozen, the voice reader of a model with ``model.voice_dim``
(``vall_e.models.voice_conditioning``). nn only.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class VoiceEncoderConfig:
    n_mels: int = 100
    width: int = 192
    dim: int = 128
    levels: int = 6  # codec levels dequantized into the log-mel it reads


class VoiceEncoder(torch.nn.Module):
    """[B, M, T] log-mel -> [B, dim] unit-length voice embeddings (loudness removed first)."""

    def __init__(self, config: VoiceEncoderConfig):
        super().__init__()
        self.config = config
        w = config.width
        self.inp = torch.nn.Conv1d(config.n_mels, w, 5, padding=2)
        self.blocks = torch.nn.ModuleList(torch.nn.Conv1d(w, w, 3, padding=d, dilation=d)
                                          for d in (1, 2, 4, 8))
        self.norms = torch.nn.ModuleList(torch.nn.BatchNorm1d(w) for _ in range(4))
        self.attn = torch.nn.Conv1d(w, 1, 1)
        self.out = torch.nn.Linear(2 * w, config.dim)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        mel = mel - mel.mean(dim=(1, 2), keepdim=True)  # a louder take is the same voice
        h = F.relu(self.inp(mel))
        for conv, norm in zip(self.blocks, self.norms):
            h = h + F.relu(norm(conv(h)))
        weights = torch.softmax(self.attn(h), dim=-1)
        mean = (h * weights).sum(-1)
        std = ((h - mean[..., None]).pow(2) * weights).sum(-1).clamp_min(1e-5).sqrt()
        return F.normalize(self.out(torch.cat([mean, std], -1)), dim=-1)

    @torch.inference_mode()
    def embed(self, mel: torch.Tensor) -> torch.Tensor:
        """One [M, T] log-mel -> [dim]."""
        was_training = self.training
        self.eval()
        embedding = self(mel[None].float())[0]
        self.train(was_training)
        return embedding
