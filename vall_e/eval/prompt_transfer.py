"""How much of a change put on its voice prompt does an AR+NAR model carry into its speech?

A model that *reads* a voice off its prompt reproduces whatever its prompt's spectrum carries;
one that *recognises* a voice among those it trained on and speaks the nearest one ignores a
change no training voice had. The probe changes a reference's codes the way training
augmentation does (``vall_e.training.voice_warp``: a vocal-tract warp, or a smooth spectral
tilt), has the model speak the same sentences with the same seed from the changed and the
unchanged prompt, and compares long-term spectra:

    slope = <output shift, prompt shift> / <prompt shift, prompt shift>

where each shift is the difference of per-bin mean log-mel (the louder 70% of frames, loudness
removed) between the changed and the unchanged side. 1: the output moves as far as its prompt
did; 0: it does not move. Codes are compared as the network produced them (no voice match at
decoding), so the number is the network's.

    python scripts/prompt_transfer.py --model vall_e/assets/default --refs DIR --change tilt
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from vall_e.training.voice_warp import VoiceChange, VoiceWarper

LOUD_SHARE = 0.7  # frames below the quietest 30% are pauses: their spectrum is not the voice's


@dataclass(frozen=True)
class PromptTransfer:
    slope: float  # mean over (reference, change) pairs
    spread: float  # standard deviation of the pairs' slopes
    pairs: int


def long_term_spectrum(mel: torch.Tensor) -> torch.Tensor:
    """[M, T] log-mel -> [M]: each bin's mean over the louder frames, minus the mean over bins
    (a louder or quieter reading is not a different voice)."""
    energy = mel.mean(0)
    loud = energy >= torch.quantile(energy, 1.0 - LOUD_SHARE)
    spectrum = mel[:, loud].mean(1)
    return spectrum - spectrum.mean()


def slope(output_shift: torch.Tensor, prompt_shift: torch.Tensor) -> float:
    """The share of ``prompt_shift`` that ``output_shift`` carries (projection, not correlation)."""
    norm = float(prompt_shift @ prompt_shift)
    if norm <= 0:
        raise ValueError("the change did not move the prompt's spectrum; pick a larger change")
    return float(output_shift @ prompt_shift) / norm


def changes_for(kind: str, factors: Sequence[float] = (0.85, 0.9, 1.1, 1.15),
                curves: int = 6) -> list[VoiceChange]:
    """The changes a probe of ``kind`` ("warp" or "tilt") applies, one at a time."""
    if kind == "warp":
        return [VoiceChange(float(a), None) for a in factors]
    if kind == "tilt":
        return [VoiceChange(None, i) for i in range(curves)]
    raise ValueError(f"the change must be 'warp' or 'tilt', got {kind!r}")


@torch.no_grad()
def measure_prompt_transfer(generate: Callable[[int, torch.Tensor], list[torch.Tensor]], mel_model,
                            prompts: Sequence[torch.Tensor], changes: Sequence[VoiceChange],
                            warper: VoiceWarper, levels: int) -> PromptTransfer:
    """``generate(i, codes [K, T] of prompt i or a changed copy) -> codes [>= levels, T'] per
    sentence``, called once per prompt unchanged and once per change, each time with the same
    sentences and seed;
    ``warper`` supplies the tilt curves (and applies the changes); ``levels`` codec levels of
    each output are compared."""
    def spectrum(codes: torch.Tensor) -> torch.Tensor:
        return long_term_spectrum(mel_model.dequantize(codes[None, :levels].long())[0])

    slopes = []
    for index, prompt in enumerate(prompts):
        plain = np.asarray(prompt.cpu(), dtype=np.int16)
        before_prompt = spectrum(prompt)
        before = [spectrum(c) for c in generate(index, prompt)]
        for change in changes:
            changed = torch.from_numpy(warper.codes(index, plain, change).astype(np.int64))
            after = [spectrum(c) for c in generate(index, changed)]
            output_shift = torch.stack([a - b for a, b in zip(after, before)]).mean(0)
            slopes.append(slope(output_shift, spectrum(changed) - before_prompt))
    if not slopes:
        raise ValueError("no prompt or no change to measure")
    return PromptTransfer(float(np.mean(slopes)), float(np.std(slopes)), len(slopes))
