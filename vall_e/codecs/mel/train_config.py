"""``CodecTrainConfig``: the recipe for training a ``mel_rvq`` codec, loaded strictly from YAML.

Unknown keys and wrong types are refused with the list of valid keys (the same
``vall_e.strict_yaml.build_dataclass`` the experiment configs use). Fields in ``FROZEN`` define the codec itself; a rerun on an output
directory must keep them, while step counts, batch size, learning rate and threads may change.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from vall_e.strict_yaml import build_dataclass, read_yaml
from vall_e.errors import ConfigError

FROZEN = ("levels", "codebook_size", "kmeans_sample_frames", "kmeans_iterations", "kmeans_batch",
          "vocoder_dim", "vocoder_intermediate", "vocoder_blocks", "seed")
PRECISIONS = ("32-true", "bf16-mixed")


@dataclass
class CodecTrainConfig:
    input: Optional[str] = None  # folder of audio, searched recursively for *.wav
    output: str = "runs/codec/default"  # gets kmeans.safetensors, lightning/, codec/
    levels: int = 8
    codebook_size: int = 1024
    kmeans_sample_frames: int = 200_000  # stacked 50 Hz frames drawn for fitting
    kmeans_iterations: int = 200  # mini-batch steps per level
    kmeans_batch: int = 8192
    vocoder_dim: int = 384
    vocoder_intermediate: int = 1152
    vocoder_blocks: int = 8
    clean_steps: int = 4000  # vocoder steps on exact log-mels ...
    quantized_steps: int = 4000  # ... then on the codes' reconstruction (what decode will see)
    # level counts the quantized stage draws from, one per step (empty: all `levels`). A model
    # that decodes fewer levels (the default ships 4) hands the vocoder a coarser mel than the
    # one it trained on; drawing the counts it will be given teaches it to decode each of them
    quantized_levels: list[int] = dataclasses.field(default_factory=list)
    batch_size: int = 16
    segment_seconds: float = 1.0
    learning_rate: float = 5e-4
    warmup_steps: int = 200
    precision: str = "bf16-mixed"
    seed: int = 0
    checkpoint_every: int = 500
    threads: int = 1  # torch CPU threads; leave cores to whatever runs beside the training
    # an exported codec directory to continue from: its codebooks replace k-means (so codes a
    # model was trained on keep their meaning) and its vocoder weights start the vocoder; the
    # step counts then count this run's steps only. Needs the same levels, codebook_size and
    # vocoder_* values as that codec
    init_from: Optional[str] = None

    @property
    def total_steps(self) -> int:
        return self.clean_steps + self.quantized_steps

    def validate(self) -> "CodecTrainConfig":
        positive = ("levels", "kmeans_sample_frames", "kmeans_iterations", "kmeans_batch",
                    "vocoder_dim", "vocoder_intermediate", "vocoder_blocks", "batch_size",
                    "checkpoint_every", "threads")
        bad = [n for n in positive if getattr(self, n) < 1]
        bad += [n for n in ("clean_steps", "quantized_steps", "warmup_steps")
                if getattr(self, n) < 0]
        bad += [n for n in ("segment_seconds", "learning_rate") if getattr(self, n) <= 0]
        if bad:
            raise ConfigError(f"codec training config: {bad} must be positive (steps may be 0)")
        if self.codebook_size < 2:
            raise ConfigError("codec training config: codebook_size must be at least 2")
        if self.total_steps < 1:
            raise ConfigError("codec training config: clean_steps + quantized_steps must be >= 1")
        if any(type(n) is not int or not 1 <= n <= self.levels for n in self.quantized_levels):
            raise ConfigError(f"codec training config: quantized_levels {self.quantized_levels} "
                              f"must be level counts from 1 to levels ({self.levels})")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"codec training config: precision {self.precision!r} is not one "
                              f"of {list(PRECISIONS)}")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def frozen_differences(self, other: "CodecTrainConfig") -> list[str]:
        return [n for n in FROZEN if getattr(self, n) != getattr(other, n)]

    @classmethod
    def from_dict(cls, raw: dict, where: str = "codec training config") -> "CodecTrainConfig":
        return build_dataclass(cls, raw, where).validate()

    @classmethod
    def from_yaml(cls, path: str | Path) -> "CodecTrainConfig":
        return cls.from_dict(read_yaml(path, "codec training config"), str(path))
