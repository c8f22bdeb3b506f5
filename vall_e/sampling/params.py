"""SamplingParams: one frozen record of every decoding choice, validated before any work.

Both model families read the same record. Every field defaults to "off" (plain sampling at
``ar_temp`` / greedy NAR), so a default record reproduces the simplest decoder. A field exists
here only if some sampler or decoding loop uses it. ``validate()`` refuses impossible values with
a one-line ``SamplingError`` that names the flag as the CLI spells it (``cli_flag``), e.g.
``--top-p must be in (0, 1], got 1.5``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Optional

from vall_e.errors import SamplingError

_INT_FIELDS = ("top_k", "beam_width", "dry_allowed_length", "layer_skip_exit_layer")
_BOOL_FIELDS = ("layer_skip", "refine_on_stop", "input_prompt_prefix")


def cli_flag(field_name: str) -> str:
    """The command-line spelling of a SamplingParams field: ``top_p`` -> ``--top-p``."""
    if field_name not in SamplingParams.field_names():
        raise KeyError(f"{field_name!r} is not a SamplingParams field")
    return "--" + field_name.replace("_", "-")


def _fail(field_name: str, rule: str, value: object) -> SamplingError:
    return SamplingError(f"{cli_flag(field_name)} {rule}, got {value}")


@dataclass(frozen=True)
class SamplingParams:
    # temperatures: 0 = greedy; a min temp >= 0 turns on dynamic temperature in [min, max)
    ar_temp: float = 1.0  # AR (and LLM-TTS) temperature
    nar_temp: float = 0.0  # NAR temperature
    min_ar_temp: float = -1.0  # < 0: off
    min_nar_temp: float = -1.0  # < 0: off
    # truncation filters, applied to the tempered distribution
    top_k: int = 0  # 0: off
    top_p: float = 1.0  # 1: off
    min_p: float = 0.0  # 0: off
    # history-based penalties, applied to raw logits
    repetition_penalty: float = 1.0  # 1: off; > 1 discourages repeats, < 1 encourages them
    repetition_penalty_decay: float = 0.0  # 0: same factor at any distance
    length_penalty: float = 0.0  # AR only; > 0 delays STOP, < 0 hastens it
    dry_multiplier: float = 0.0  # AR only; 0: off
    dry_base: float = 1.75
    dry_allowed_length: int = 2
    # search strategies (AR only)
    beam_width: int = 0  # 0: off (driven by the decoding loop, not the TokenSampler)
    mirostat_tau: float = 0.0  # 0: off; target surprise in bits
    mirostat_eta: float = 0.1  # learning rate of mirostat's running threshold
    # early exit (models that support it)
    layer_skip: bool = False
    layer_skip_exit_layer: int = -1  # -1: the last layer
    layer_skip_entropy_threshold: float = 0.1  # nats
    layer_skip_varentropy_threshold: float = 0.1  # nats^2
    # AR loop behaviour
    refine_on_stop: bool = False
    input_prompt_prefix: bool = False
    seed: Optional[int] = None  # fixes every random draw of one generation
    # pace of phoneme-aligned models (model.alignment: pointer or durations): > 1 faster, < 1 slower
    speed: float = 1.0

    def validate(self) -> "SamplingParams":
        """Return self if every value is possible, else raise a one-line SamplingError."""
        self._check_types()
        self._check_temperatures()
        self._check_filters_and_penalties()
        self._check_search()
        return self

    def _check_types(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _BOOL_FIELDS:
                if not isinstance(value, bool):
                    raise _fail(f.name, "must be true or false", value)
            elif f.name in _INT_FIELDS or f.name == "seed":
                if f.name == "seed" and value is None:
                    continue
                if isinstance(value, bool) or not isinstance(value, int):
                    raise _fail(f.name, "must be an integer", value)
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _fail(f.name, "must be a number", value)
            elif not math.isfinite(value):  # NaN and inf never mean anything here
                raise _fail(f.name, "must be a finite number", value)

    def _check_temperatures(self) -> None:
        for name, min_name in (("ar_temp", "min_ar_temp"), ("nar_temp", "min_nar_temp")):
            value, low = getattr(self, name), getattr(self, min_name)
            if value < 0:
                raise _fail(name, "must be >= 0 (0 = greedy)", value)
            if low >= 0 and low >= value:
                raise _fail(min_name, f"must be < {cli_flag(name)} ({value}) or negative (off)", low)

    def _check_filters_and_penalties(self) -> None:
        checks = (
            ("top_k", self.top_k >= 0, "must be >= 0 (0 = off)"),
            ("top_p", 0 < self.top_p <= 1, "must be in (0, 1]"),
            ("min_p", 0 <= self.min_p < 1, "must be in [0, 1)"),
            ("repetition_penalty", self.repetition_penalty > 0, "must be > 0 (1 = off)"),
            ("repetition_penalty_decay", self.repetition_penalty_decay >= 0, "must be >= 0"),
            ("dry_multiplier", self.dry_multiplier >= 0, "must be >= 0 (0 = off)"),
            ("dry_base", self.dry_multiplier == 0 or self.dry_base > 1,
             "must be > 1 when --dry-multiplier > 0"),
            ("dry_allowed_length", self.dry_allowed_length >= 1, "must be >= 1"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise _fail(name, rule, getattr(self, name))

    def _check_search(self) -> None:
        checks = (
            ("beam_width", self.beam_width >= 0, "must be >= 0 (0 = off)"),
            ("mirostat_tau", self.mirostat_tau >= 0, "must be >= 0 (0 = off)"),
            ("mirostat_eta", self.mirostat_tau == 0 or self.mirostat_eta > 0,
             "must be > 0 when --mirostat-tau > 0"),
            ("layer_skip_exit_layer", self.layer_skip_exit_layer >= -1,
             "must be >= 0, or -1 for the last layer"),
            ("layer_skip_entropy_threshold", self.layer_skip_entropy_threshold >= 0, "must be >= 0"),
            ("layer_skip_varentropy_threshold", self.layer_skip_varentropy_threshold >= 0,
             "must be >= 0"),
            ("seed", self.seed is None or self.seed >= 0, "must be a non-negative integer"),
            ("speed", 0.25 <= self.speed <= 4.0, "must be in [0.25, 4] (1 = the model's own pace)"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise _fail(name, rule, getattr(self, name))
        if self.beam_width > 0 and self.mirostat_tau > 0:
            raise SamplingError(
                f"{cli_flag('beam_width')} cannot be combined with {cli_flag('mirostat_tau')}"
            )

    def temperature(self, role: str) -> float:
        """The (maximum) temperature of a role: 'ar' -> ar_temp, 'nar' -> nar_temp."""
        return self.ar_temp if role == "ar" else self.nar_temp

    def min_temperature(self, role: str) -> Optional[float]:
        """The dynamic-temperature floor of a role, or None when dynamic temperature is off."""
        low = self.min_ar_temp if role == "ar" else self.min_nar_temp
        return low if low >= 0 else None

    def with_changes(self, **changes) -> "SamplingParams":
        return replace(self, **changes).validate()

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_mapping(cls, values: dict, where: str = "sampling") -> "SamplingParams":
        """A validated record from ``{field: value}`` (a model's ``inference.sampling``); an
        unknown name is a one-line SamplingError that lists the valid ones."""
        unknown = sorted(set(values) - set(cls.field_names()))
        if unknown:
            raise SamplingError(f"{where}: unknown sampler setting(s) {unknown}; "
                                f"valid: {cls.field_names()}")
        return cls(**values).validate()
