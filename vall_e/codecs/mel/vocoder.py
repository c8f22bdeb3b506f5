"""Vocos-style vocoder: log-mel [B, M, N] at 100 Hz -> waveform [B, N * hop] in one forward pass.

A stack of non-causal ConvNeXt blocks predicts, per mel frame, a log-magnitude and a phase for
every STFT bin; ``torch.istft`` overlap-adds them. Nothing runs at the sample rate, which is why
decoding is cheap on a CPU (RTF ~0.015 measured for dim 384 x 8 blocks, see ASSETS.md).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

_MAX_LOG_MAG = 10.0  # exp(10) ~ 2e4: a cap so an early, untrained step cannot overflow


@dataclass(frozen=True)
class VocoderSpec:
    n_mels: int = 100
    dim: int = 384
    intermediate: int = 1152
    blocks: int = 8
    kernel: int = 7
    n_fft: int = 1024
    hop: int = 240

    def right_context(self) -> int:
        """Mel frames to the right that one output frame depends on (embed conv + blocks)."""
        return (self.kernel // 2) * (self.blocks + 1)


class ConvNeXtBlock(nn.Module):
    """Depthwise conv -> LayerNorm -> pointwise MLP -> layer scale, with a residual."""

    def __init__(self, dim: int, intermediate: int, kernel: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pw1 = nn.Linear(dim, intermediate)
        self.pw2 = nn.Linear(intermediate, dim)
        # small layer scale: each block starts near identity, so a deep stack trains stably
        self.gamma = nn.Parameter(torch.full((dim,), 1.0 / 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, dim, N]
        y = self.dwconv(x).transpose(1, 2)
        y = self.pw2(nn.functional.gelu(self.pw1(self.norm(y))))
        return x + (self.gamma * y).transpose(1, 2)


class Vocoder(nn.Module):
    def __init__(self, spec: VocoderSpec) -> None:
        super().__init__()
        self.spec = spec
        self.embed = nn.Conv1d(spec.n_mels, spec.dim, spec.kernel, padding=spec.kernel // 2)
        self.norm_in = nn.LayerNorm(spec.dim, eps=1e-6)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(spec.dim, spec.intermediate, spec.kernel) for _ in range(spec.blocks))
        self.norm_out = nn.LayerNorm(spec.dim, eps=1e-6)
        self.head = nn.Linear(spec.dim, spec.n_fft + 2)  # (n_fft/2 + 1) log-mags + as many phases
        self.register_buffer("window", torch.hann_window(spec.n_fft), persistent=False)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """[B, n_mels, N] log-mel -> [B, N * hop] audio."""
        x = self.norm_in(self.embed(mel).transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        out = self.head(self.norm_out(x.transpose(1, 2))).transpose(1, 2)
        return self.synthesize(out)

    def synthesize(self, out: torch.Tensor) -> torch.Tensor:
        # the iSTFT runs in float32 even under bf16 autocast: complex bf16 is not supported
        with torch.autocast(device_type=out.device.type, enabled=False):
            out = out.float()
            bins = self.spec.n_fft // 2 + 1
            mag = torch.exp(out[:, :bins].clamp(max=_MAX_LOG_MAG))
            phase = out[:, bins:]
            spec = torch.polar(mag, phase)
            frames = out.shape[-1]
            # centred iSTFT: frame i sits on sample i * hop, matching MelAnalysis, and asking for
            # frames * hop samples keeps exactly the samples those frames own
            return torch.istft(spec, self.spec.n_fft, self.spec.hop, window=self.window,
                               center=True, length=frames * self.spec.hop)
