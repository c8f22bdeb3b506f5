"""Fixed log-mel analysis and the 2-frame stacking that turns 100 Hz mels into 50 Hz codec frames.

Contract: ``MelAnalysis(wav[B, S]) -> [B, n_mels, 2 * ceil(S / (2 * hop))]``. The input is
right-padded with zeros to a whole number of *stacked* frames, the STFT is centred
(frame i is centred on sample i * hop) and the trailing frame the centring adds is dropped, so
every stacked frame owns exactly ``2 * hop`` samples and the vocoder can give them back one for
one. No learned parameters: the analysis is identical for every checkpoint of a config.
"""
from __future__ import annotations

import math

import torch

LOG_FLOOR = 1e-5  # log(1e-5) ~ -11.5: quieter bins are clamped so silence has a finite code


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> torch.Tensor:
    """[n_mels, n_fft // 2 + 1] triangular HTK-mel filters from 0 Hz to Nyquist (unnormalised)."""

    def hz_to_mel(f):
        return 2595.0 * torch.log10(1.0 + f / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    nyquist = torch.tensor(sample_rate / 2.0, dtype=torch.float64)
    top = float(hz_to_mel(nyquist))
    edges = mel_to_hz(torch.linspace(0.0, top, n_mels + 2, dtype=torch.float64))
    bins = torch.linspace(0.0, float(nyquist), n_fft // 2 + 1, dtype=torch.float64)
    lower, center, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None] - lower) / (center - lower)
    falling = (upper - bins[None]) / (upper - center)
    return torch.clamp(torch.minimum(rising, falling), min=0.0).float()


class MelAnalysis(torch.nn.Module):
    """Log-magnitude mel spectrogram at ``sample_rate / hop`` frames per second."""

    def __init__(self, sample_rate: int = 24000, n_fft: int = 1024, hop: int = 240,
                 n_mels: int = 100, stack: int = 2) -> None:
        super().__init__()
        self.sample_rate, self.n_fft, self.hop, self.n_mels, self.stack = (
            sample_rate, n_fft, hop, n_mels, stack)
        # buffers, not parameters: they follow .to(device) but are never trained or saved
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.register_buffer("filters", mel_filterbank(sample_rate, n_fft, n_mels),
                             persistent=False)

    @property
    def samples_per_stacked_frame(self) -> int:
        return self.hop * self.stack

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """[B, S] float -> [B, n_mels, stack * ceil(S / (stack * hop))] log-mel."""
        step = self.samples_per_stacked_frame
        frames = math.ceil(wav.shape[-1] / step) * self.stack
        wav = torch.nn.functional.pad(wav.float(), (0, frames * self.hop - wav.shape[-1]))
        spec = torch.stft(wav, self.n_fft, self.hop, window=self.window, center=True,
                          pad_mode="constant", return_complex=True)  # zeros: any length works
        mel = self.filters @ spec.abs()[..., :frames]  # centring adds one frame at the end
        return torch.log(torch.clamp(mel, min=LOG_FLOOR))


def stack_frames(mel: torch.Tensor, stack: int = 2) -> torch.Tensor:
    """[B, M, stack * T] -> [B, T, stack * M]: consecutive frames side by side (frame 2t first)."""
    batch, n_mels, frames = mel.shape
    if frames % stack:
        raise ValueError(f"{frames} mel frames do not split into groups of {stack}")
    return mel.transpose(1, 2).reshape(batch, frames // stack, stack * n_mels)


def unstack_frames(frames: torch.Tensor, stack: int = 2) -> torch.Tensor:
    """Inverse of ``stack_frames``: [B, T, stack * M] -> [B, M, stack * T]."""
    batch, steps, dim = frames.shape
    return frames.reshape(batch, steps * stack, dim // stack).transpose(1, 2)
