"""The prompt's voice as one vector (``model.voice_dim > 0``, shared-prefix durations models).

A small network that reads its voice only by attending to 2-3 s of prompt frames learns to
*recognise* the voices it was trained on: given a new voice it speaks the nearest known one
(docs/default-model.md: it carries half of a formant warp put on its prompt and a tenth of a
spectral tilt). A speaker encoder trained to tell voices apart (``vall_e.models.voice_encoder``)
places a new voice in a continuous space instead, between the ones it knows. This module runs
that encoder, frozen, over the prompt and adds a learned projection of its embedding to every
prefix position and every frame the network sees (``vall_e.models.shared_prefix``).

The encoder reads log-mel. A prompt arrives as codec codes, so the module keeps the codec's
residual codebooks for the levels it reads (a frozen table: a frame's log-mel is the sum of its
codes' centroids, as ``mel_rvq`` dequantizes) and the whole path stays inside the model: a
checkpoint carries the encoder and the table, and synthesis, streaming and training reach the
vector through the same prefix. The projection starts at zero, so a model given the module
speaks exactly as before until training teaches it to use the vector. nn only, except
``fill_voice_conditioning``, which copies a trained encoder and a codec in.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from vall_e.codecs.mel.features import unstack_frames
from vall_e.errors import ConfigError
from vall_e.models.voice_encoder import VoiceEncoder, VoiceEncoderConfig


class VoiceConditioning(nn.Module):
    """Prompt codes [K, T] -> a voice vector [d_model] (zeros for an empty prompt)."""

    def __init__(self, config, codebook_size: int, d_model: int):
        super().__init__()
        self.levels = config.voice_levels
        self.n_mels = config.voice_mels
        self.stack = config.voice_stack
        self.encoder = VoiceEncoder(VoiceEncoderConfig(n_mels=config.voice_mels, width=config.voice_width,
                                                       dim=config.voice_dim, levels=config.voice_levels))
        self.encoder.requires_grad_(False).eval()  # frozen, whatever mode the model is in
        self.register_buffer("codebooks", torch.zeros(self.levels, codebook_size,
                                                      self.n_mels * self.stack))
        self.projection = nn.Linear(config.voice_dim, d_model, bias=False)
        nn.init.zeros_(self.projection.weight)
        # the embedding is unit-length; scaled to unit-variance entries, so the projection's
        # steps (Adam moves each weight by about the learning rate) change the vector as fast as
        # they change any other input of the network
        self.scale = math.sqrt(config.voice_dim)

    def train(self, mode: bool = True):
        super().train(mode)
        self.encoder.eval()  # frozen: its batch norms keep the statistics it was trained with
        return self

    def log_mel(self, prompt: torch.Tensor) -> torch.Tensor:
        """Prompt codes [K, T] -> the log-mel [M, stack x T] of their first ``levels`` levels."""
        if prompt.shape[0] < self.levels:
            raise ValueError(f"the voice encoder reads {self.levels} codec levels; the prompt has "
                             f"{prompt.shape[0]}")
        frames = self.codebooks[0][prompt[0]]
        for level in range(1, self.levels):
            frames = frames + self.codebooks[level][prompt[level]]
        return unstack_frames(frames[None], self.stack)[0]

    def embedding(self, prompt: torch.Tensor) -> torch.Tensor:
        """The frozen encoder's unit-length embedding [voice_dim] of a non-empty prompt."""
        with torch.no_grad():
            return self.encoder(self.log_mel(prompt.long())[None].float())[0]

    def forward(self, prompt: torch.Tensor) -> torch.Tensor:
        weight = self.projection.weight
        if prompt.shape[-1] == 0:
            return torch.zeros(weight.shape[0], device=weight.device, dtype=weight.dtype)
        return self.projection(self.embedding(prompt).to(weight.dtype) * self.scale)


def fill_voice_conditioning(module: VoiceConditioning, encoder_dir: str | Path, codec_dir: str | Path) -> None:
    """Copy a trained voice encoder (``scripts/train_voice_encoder.py``) and the mel_rvq codec's
    codebooks into ``module``, and zero its projection: a run's fresh start."""
    from vall_e.codecs.mel.codec import load_mel_model
    from vall_e.eval.voice_encoder import load_voice_encoder

    encoder = load_voice_encoder(encoder_dir)
    have, want = encoder.config, module.encoder.config
    if (have.n_mels, have.width, have.dim, have.levels) != (want.n_mels, want.width, want.dim, want.levels):
        raise ConfigError(
            f"model.voice_encoder {encoder_dir} has n_mels {have.n_mels}, width {have.width}, dim "
            f"{have.dim}, levels {have.levels}; set model.voice_mels / voice_width / voice_dim / "
            f"voice_levels to match")
    codebooks = load_mel_model(codec_dir).rvq.codebooks
    if codebooks.shape[0] < module.levels or codebooks.shape[1:] != module.codebooks.shape[1:]:
        raise ConfigError(f"codec {codec_dir}'s codebooks {tuple(codebooks.shape)} do not fit the "
                          f"voice conditioning's {tuple(module.codebooks.shape)} (levels x codes x "
                          "stacked mels): use the codec the shards were made with")
    module.encoder.load_state_dict(encoder.state_dict())
    module.codebooks.copy_(codebooks[:module.levels].float())
    nn.init.zeros_(module.projection.weight)
