"""The one dispatcher both model families call at each decoding step.

``TokenSampler(params, role, generator)`` turns logits [B, V] into tokens [B]. ``role`` picks the
temperature ('ar' for the AR and LLM-TTS, 'nar' for the NAR levels). Order of application:
logit processors first (they reshape the distribution), then temperature, then the draw —
greedy argmax when the temperature is 0. The sampler receives the history of tokens so far so
that history-dependent processors (repetition penalties, DRY) can slot in here.

The engine knows nothing about how a token was chosen; the sampler knows nothing about audio.
"""
from __future__ import annotations

import torch

from vall_e.sampling.params import SamplingParams
from vall_e.sampling.processors import apply_temperature

ROLES = ("ar", "nar")


def make_generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator:
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


def sample_from_logits(
    logits: torch.Tensor, temperature: float, generator: torch.Generator | None
) -> torch.Tensor:
    """Draw one token per row: argmax when temperature == 0, else softmax(logits / T) sampling."""
    if temperature == 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(apply_temperature(logits.float(), temperature), dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


class TokenSampler:
    def __init__(self, params: SamplingParams, role: str, generator: torch.Generator | None = None):
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        self.params = params.validate()
        self.role = role
        self.generator = generator

    @property
    def temperature(self) -> float:
        return self.params.ar_temp if self.role == "ar" else self.params.nar_temp

    def __call__(self, logits: torch.Tensor, history: torch.Tensor | None = None) -> torch.Tensor:
        """logits [B, V] (or [B, T, V] for a parallel NAR step) -> tokens [B] (or [B, T])."""
        shape = logits.shape[:-1]
        flat = logits.reshape(-1, logits.shape[-1])
        return sample_from_logits(flat, self.temperature, self.generator).reshape(shape)
