"""Voice-warp augmentation (``data.voice_warp_probability``): training examples spoken by new
voices made from the corpus's own.

With the configured probability an example is drawn with one factor of
``data.voice_warp_factors``, and its target, its concatenation partner and its voice prompt
are all warped by that same factor (``vall_e.codecs.mel.warp``), so prompt and target still
share one voice, just not one the corpus has. Each (utterance, factor) pair is warped once and
kept. Validation never warps.
"""
from __future__ import annotations

import random

import numpy as np
import torch

from vall_e.codecs.mel.warp import check_factor, warp_codes


class VoiceWarper:
    def __init__(self, mel_model, factors, probability: float):
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"the voice warp probability must be in [0, 1], got {probability}")
        self.factors = tuple(check_factor(f) for f in factors)
        if probability > 0 and not self.factors:
            raise ValueError("voice warping needs at least one factor")
        self.model = mel_model
        self.probability = probability
        self._cache: dict[tuple[int, float], np.ndarray] = {}

    def draw(self, rng: random.Random) -> float | None:
        """A factor for one example, or None (the example keeps its voice)."""
        if self.probability <= 0 or rng.random() >= self.probability:
            return None
        return rng.choice(self.factors)

    def codes(self, index: int, codes: np.ndarray, alpha: float) -> np.ndarray:
        """Utterance ``index``'s ``codes`` [K, T] warped by ``alpha`` (computed once)."""
        key = (index, alpha)
        if key not in self._cache:
            source = torch.from_numpy(np.asarray(codes, dtype=np.int64))
            self._cache[key] = warp_codes(self.model, source, alpha).numpy().astype(np.int16)
        return self._cache[key]
