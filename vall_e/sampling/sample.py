"""The one dispatcher both model families call at each decoding step.

``TokenSampler(params, role, generator, stop_token)(logits, history)`` turns logits [B, V] (or
[B, T, V] for a parallel NAR step) into tokens [B] (or [B, T]); ``history`` [B, t] holds the
tokens generated so far (its length is the current sequence length). Order of application:

1. history penalties on the raw logits — repetition penalty, then DRY (AR only). They express
   "how the model's own scores should change given what was said", so they act on the model's
   logits before any reshaping, and their strength does not depend on the temperature;
2. length penalty on the STOP logit (AR only, needs ``stop_token``), also a raw-logit shift;
3. temperature: static, or dynamic (min temp >= 0) computed from the penalized row's entropy;
4. truncation filters top-k, top-p, min-p on the tempered distribution, because "the p of a
   token" should mean the probability it is actually drawn with;
5. the draw: greedy argmax when the temperature is 0 (filters cannot change the argmax: each
   keeps the top token), mirostat when ``mirostat_tau`` > 0 (AR only), else multinomial with
   ``generator``.

Role 'ar' (the AR and LLM-TTS) uses every stage. Role 'nar' uses temperature (nar_temp,
min_nar_temp), top-k, top-p and min-p; the NAR decoder passes no history (a level's codes are
not a sequence in time of the same codebook), so the history penalties are AR rules.
Beam search is driven by the decoding loop
(``vall_e.sampling.beam``), which asks ``log_probs`` for the processed distribution.

The engine knows nothing about how a token was chosen; the sampler knows nothing about audio.
"""
from __future__ import annotations

import torch

from vall_e.errors import GenerationError
from vall_e.sampling import processors as P
from vall_e.sampling.mirostat import MirostatState
from vall_e.sampling.params import SamplingParams

ROLES = ("ar", "nar")


def make_generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator:
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


class TokenSampler:
    """Stateful per generation (mirostat's running threshold): make one per generation."""

    def __init__(self, params: SamplingParams, role: str, generator: torch.Generator | None = None,
                 stop_token: int | None = None):
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        self.params = params.validate()
        self.role = role
        self.generator = generator
        self.stop_token = stop_token
        self.mirostat: MirostatState | None = None  # mirostat is an AR-only draw
        if role == "ar" and params.mirostat_tau > 0:
            self.mirostat = MirostatState(params.mirostat_tau, params.mirostat_eta)

    @property
    def temperature(self) -> float:
        """The role's static (or, with dynamic temperature, maximum) temperature."""
        return self.params.temperature(self.role)

    def reset(self) -> None:
        """Forget per-generation state (mirostat's mu) to reuse the sampler for a new item."""
        if self.mirostat is not None:
            self.mirostat.reset()

    def __call__(self, logits: torch.Tensor, history: torch.Tensor | None = None) -> torch.Tensor:
        """logits [B, V] (or [B, T, V] for a parallel NAR step) -> tokens [B] (or [B, T])."""
        shape = logits.shape[:-1]
        processed, temperatures = self.process(logits, history)
        return self._draw(processed, temperatures).reshape(shape)

    def log_probs(self, logits: torch.Tensor, history: torch.Tensor | None = None) -> torch.Tensor:
        """Processed log-probabilities, same shape as ``logits``: what beam search scores with.

        Stages 1-4 of the module docstring; a temperature of 0 is treated as 1 here (beam
        search is itself the deterministic choice).
        """
        processed, _ = self.process(logits, history)
        return torch.log_softmax(processed, dim=-1).reshape(logits.shape)

    def process(self, logits: torch.Tensor,
                history: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Stages 1-4: (processed logits [N, V], per-row temperature [N]; 0 = greedy row).

        N = B (or B * T). Rows with temperature 0 are left untempered.
        """
        _check_logits(logits)
        flat = self._penalize(logits.float(), history).reshape(-1, logits.shape[-1])
        temperatures = self._temperatures(flat)
        hot = temperatures > 0
        if bool(hot.any()):
            safe = torch.where(hot, temperatures, torch.ones_like(temperatures))
            flat = torch.where(hot[:, None], P.apply_temperature(flat, safe), flat)
        p = self.params
        flat = P.min_p_filter(P.top_p_filter(P.top_k_filter(flat, p.top_k), p.top_p), p.min_p)
        return flat, temperatures

    def _penalize(self, logits: torch.Tensor, history: torch.Tensor | None) -> torch.Tensor:
        """Stages 1-2 on raw logits [B, V] or [B, T, V]."""
        p = self.params
        out = P.repetition_penalty(logits, history, p.repetition_penalty, p.repetition_penalty_decay)
        if self.role != "ar":
            return out
        out = P.dry_penalty(out, history, p.dry_multiplier, p.dry_base, p.dry_allowed_length)
        if self.stop_token is not None and p.length_penalty != 0:
            length = 0 if history is None else history.shape[-1]
            out = P.length_penalty(out, self.stop_token, length, p.length_penalty)
        return out

    def _temperatures(self, flat: torch.Tensor) -> torch.Tensor:
        """Per-row temperature [N]: static, or dynamic from the penalized row's entropy."""
        high = self.params.temperature(self.role)
        low = self.params.min_temperature(self.role)
        if low is None:
            return torch.full((flat.shape[0],), float(high), device=flat.device)
        return P.dynamic_temperature(flat, low, high)

    def _draw(self, processed: torch.Tensor, temperatures: torch.Tensor) -> torch.Tensor:
        """Stage 5: argmax rows with temperature 0, mirostat or multinomial for the others."""
        greedy = processed.argmax(dim=-1)
        hot = temperatures > 0
        if not bool(hot.any()):
            return greedy
        if self.mirostat is not None:
            drawn = self.mirostat.sample(processed, self.generator)
        else:
            probs = torch.softmax(processed, dim=-1)
            drawn = torch.multinomial(probs, 1, generator=self.generator).squeeze(-1)
        return torch.where(hot, drawn, greedy)


def _check_logits(logits: torch.Tensor) -> None:
    """Refuse logits no sampler can use (a model bug, not a sampling choice)."""
    all_masked = torch.isneginf(logits).all(dim=-1).any()
    if not bool(torch.isnan(logits).any() | torch.isposinf(logits).any() | all_masked):
        return  # one device sync per step in the common case
    if bool(all_masked):
        raise ValueError("the model produced a row of all -inf logits (every token masked)")
    # GenerationError (a ValueError): one line from the CLI, not a traceback; with a checksum
    # a damaged file is refused at load, without one (older checkpoints) it shows up here
    raise GenerationError("the model produced NaN or +inf logits; nothing can be sampled from "
                          "them (damaged weights? copy the checkpoint again)")
