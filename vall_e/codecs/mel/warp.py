"""Vocal-tract-length warping of log-mel frames and of ``mel_rvq`` codes: new voices for training.

The default corpus has 38 voices, and a model that has heard so few learns them one by one
rather than a general way of copying a voice from its prompt. Stretching the frequency axis
by a factor ``alpha`` (the spectrum at ``f`` becomes what it was at ``f / alpha``) moves the
formants and the harmonics together, as a longer or shorter vocal tract would: at 0.85-0.9 or
1.1-1.15 Resemblyzer judges the result about as far from the original voice as another
speaker, while Whisper still hears every word (measured on three voices, docs/default-model.md).

Codes are warped where they live: dequantized to the log-mel frames they stand for, warped,
and quantized again with the same residual k-means, so no audio and no teacher is needed
and the durations stay exactly as they were (the time axis is untouched).
"""
from __future__ import annotations

import numpy as np
import torch

MIN_FACTOR, MAX_FACTOR = 0.7, 1.4  # beyond this the top or bottom band is mostly invented


def _hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def _mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def check_factor(alpha: float) -> float:
    if not MIN_FACTOR <= float(alpha) <= MAX_FACTOR:
        raise ValueError(f"a voice warp factor must be in [{MIN_FACTOR}, {MAX_FACTOR}], got {alpha}")
    return float(alpha)


def source_bins(alpha: float, sample_rate: int, n_mels: int) -> np.ndarray:
    """For each of ``n_mels`` HTK-mel bins (the layout of ``features.mel_filterbank``: centres
    evenly spaced in mel from 0 Hz to Nyquist), the fractional bin whose centre frequency is
    the bin's own divided by ``alpha``, clipped to the bins there are."""
    top = float(_hz_to_mel(sample_rate / 2.0))
    step = top / (n_mels + 1)
    centres = _mel_to_hz(step * np.arange(1, n_mels + 1))
    index = _hz_to_mel(centres / check_factor(alpha)) / step - 1.0
    return np.clip(index, 0.0, n_mels - 1.0)


def warp_log_mel(mel: torch.Tensor, alpha: float, sample_rate: int) -> torch.Tensor:
    """[..., n_mels, T] log-mel -> the same with its frequency axis stretched by ``alpha``
    (linear interpolation between neighbouring bins; ``alpha`` 1 returns the input)."""
    n_mels = mel.shape[-2]
    index = torch.from_numpy(source_bins(alpha, sample_rate, n_mels)).to(mel.device)
    low = index.floor().long()
    high = (low + 1).clamp(max=n_mels - 1)
    weight = (index - low).to(mel.dtype)[:, None]
    return mel[..., low, :] * (1.0 - weight) + mel[..., high, :] * weight


@torch.no_grad()
def change_codes(model, codes: torch.Tensor, alpha: float | None = None,
                 gain: torch.Tensor | None = None) -> torch.Tensor:
    """``mel_rvq`` codes [K, T] of one utterance -> the codes of the same speech with its log-mel
    frames warped by ``alpha`` (None or 1: not warped) and then offset by ``gain`` [n_mels]
    (None: no offset), quantized again at the same K levels (``model``: a ``MelModel``)."""
    if codes.dim() != 2:
        raise ValueError(f"change_codes takes codes [levels, frames], got shape {tuple(codes.shape)}")
    warp = alpha is not None and float(alpha) != 1.0
    if not warp and gain is None:
        return codes.clone()
    mel = model.dequantize(codes[None].long())
    if warp:
        mel = warp_log_mel(mel, alpha, model.spec.sample_rate)
    if gain is not None:
        mel = mel + gain.to(mel)[:, None]
    new, _ = model.quantize(mel, codes.shape[0])
    return new[0].to(codes.dtype)


def warp_codes(model, codes: torch.Tensor, alpha: float) -> torch.Tensor:
    """``mel_rvq`` codes [K, T] of one utterance -> the codes of the same speech with its voice
    warped by ``alpha`` (``model``: a ``MelModel``), at the same K levels."""
    return change_codes(model, codes, alpha)
