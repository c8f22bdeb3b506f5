"""SamplingParams: one frozen record of every decoding choice, validated before any work.

Both model families read the same record. A field exists here only if some sampler really
uses it; ``validate()`` refuses impossible values with a one-line ``SamplingError``.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Optional

from vall_e.errors import SamplingError


@dataclass(frozen=True)
class SamplingParams:
    ar_temp: float = 1.0  # AR (and LLM-TTS) temperature; 0 = greedy
    nar_temp: float = 0.0  # NAR temperature; 0 = greedy
    seed: Optional[int] = None  # fixes every random draw of one generation

    def validate(self) -> "SamplingParams":
        for name in ("ar_temp", "nar_temp"):
            value = getattr(self, name)
            if not value >= 0.0:  # also catches NaN
                raise SamplingError(f"{name} must be >= 0 (0 = greedy), got {value}")
        if self.seed is not None and self.seed < 0:
            raise SamplingError(f"seed must be a non-negative integer, got {self.seed}")
        return self

    def with_changes(self, **changes) -> "SamplingParams":
        return replace(self, **changes).validate()

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]
