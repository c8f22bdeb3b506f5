"""Voice augmentation for AR+NAR training: examples spoken by new voices made from the corpus's own.

Two independent changes, each drawn per example with its own probability:

- a vocal-tract warp (``data.voice_warp_probability``): one factor of ``data.voice_warp_factors``
  stretches the frequency axis (``vall_e.codecs.mel.warp``), moving formants and harmonics;
- a spectral tilt (``data.voice_eq_probability``): one of ``data.voice_eq_curves`` smooth gain
  curves over the mel bins, at most ``data.voice_eq_db`` dB, is added to every log-mel frame.
  It changes the timbre a voice's long-term spectrum carries and leaves the formant positions
  alone; at 6 dB Resemblyzer judges the result about as far from the original as another
  speaker (docs/default-model.md). A model that must reproduce it has to read the spectrum
  off the prompt instead of recalling the nearest voice it was trained on.

The example's target, its concatenation partner and its voice prompt all receive the same
change, so prompt and target still share one voice, just not one the corpus has. Each
(utterance, change) pair is computed once and kept; the curves are a fixed bank drawn from
``seed``, so the cache stays small. Validation never changes a voice.
"""
from __future__ import annotations

import math
import random
from typing import NamedTuple

import numpy as np
import torch

from vall_e.codecs.mel.warp import change_codes, check_factor

MAX_EQ_DB = 12.0  # beyond this the tilt is an effect, not a voice
EQ_COMPONENTS = 3  # cosines over the mel axis: smooth enough to stay a timbre, not a filter comb


class VoiceChange(NamedTuple):
    """One example's change of voice: a warp factor and/or an EQ curve's index (None: not used)."""

    alpha: float | None
    eq: int | None


def eq_curves(count: int, n_mels: int, max_db: float, seed: int) -> np.ndarray:
    """[count, n_mels] smooth gains in natural-log units (what log-mel frames add): each a sum of
    ``EQ_COMPONENTS`` cosines with random weights, scaled so its largest |gain| is drawn
    uniformly between half of ``max_db`` and ``max_db`` decibels."""
    rng = np.random.RandomState(seed)
    x = np.linspace(0.0, 1.0, n_mels)
    basis = np.stack([np.cos(math.pi * k * x) for k in range(1, EQ_COMPONENTS + 1)])
    curves = rng.uniform(-1.0, 1.0, size=(count, EQ_COMPONENTS)) @ basis
    curves /= np.maximum(np.abs(curves).max(axis=1, keepdims=True), 1e-6)
    peak_db = rng.uniform(0.5 * max_db, max_db, size=(count, 1))
    return (curves * peak_db * math.log(10.0) / 20.0).astype(np.float32)


class VoiceWarper:
    def __init__(self, mel_model, factors, probability: float, eq_probability: float = 0.0,
                 eq_db: float = 6.0, eq_count: int = 32, seed: int = 0):
        for name, p in (("voice warp", probability), ("voice EQ", eq_probability)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"the {name} probability must be in [0, 1], got {p}")
        self.factors = tuple(check_factor(f) for f in factors)
        if probability > 0 and not self.factors:
            raise ValueError("voice warping needs at least one factor")
        if eq_probability > 0 and not (0.0 < eq_db <= MAX_EQ_DB and eq_count >= 1):
            raise ValueError(f"voice EQ needs 0 < eq_db <= {MAX_EQ_DB} and at least one curve, "
                             f"got eq_db={eq_db}, eq_count={eq_count}")
        self.model = mel_model
        self.probability = probability
        self.eq_probability = eq_probability
        self.curves = (torch.from_numpy(eq_curves(eq_count, mel_model.spec.n_mels, eq_db, seed))
                       if eq_probability > 0 else None)
        self._cache: dict[tuple[int, VoiceChange], np.ndarray] = {}

    def draw(self, rng: random.Random) -> VoiceChange | None:
        """A change for one example, or None (the example keeps its voice)."""
        alpha = eq = None
        if self.probability > 0 and rng.random() < self.probability:
            alpha = rng.choice(self.factors)
        if self.eq_probability > 0 and rng.random() < self.eq_probability:
            eq = rng.randrange(len(self.curves))
        return None if alpha is None and eq is None else VoiceChange(alpha, eq)

    def codes(self, index: int, codes: np.ndarray, change: VoiceChange) -> np.ndarray:
        """Utterance ``index``'s ``codes`` [K, T] in the voice ``change`` makes (computed once)."""
        key = (index, change)
        if key not in self._cache:
            source = torch.from_numpy(np.asarray(codes, dtype=np.int64))
            gain = None if change.eq is None else self.curves[change.eq]
            self._cache[key] = change_codes(self.model, source, change.alpha, gain).numpy().astype(np.int16)
        return self._cache[key]
