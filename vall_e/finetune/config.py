"""``FinetuneConfig``: one YAML describes a speaker fine-tune (``python -m vall_e.finetune``).

    base: runs/tiny/latest          # the checkpoint to adapt (either family)
    speaker_data: runs/my-voice     # <speaker>/<id>.wav + <id>.txt (what `vall_e.data prepare` reads)
    method: lora                    # lora | full | offset
    backend: torch                  # torch | unsloth (LLM-TTS + LoRA on an NVIDIA GPU)
    lora: {rank: 8, alpha: 16, ...} # method lora only
    full: {freeze_layers: 2}        # method full only
    unsloth: {load_in_4bit: true}   # backend unsloth only
    data: {val_fraction: 0.2}       # unset keys take the base checkpoint's data section
    train: {output_dir: ..., max_steps: ..., learning_rate: ...}   # vall_e.config.TrainConfig

Loading is as strict as ``vall_e.config``: unknown keys list the valid ones, wrong types are
refused, and a section for a method or backend that is not selected is an error (it would be
silently ignored otherwise). Nothing here touches the base checkpoint or the data.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from vall_e.config import DataConfig, TrainConfig
from vall_e.strict_yaml import build_dataclass, read_yaml
from vall_e.errors import ConfigError

METHODS = ("lora", "full", "offset")
BACKENDS = ("torch", "unsloth")
# peft's rule: a list names modules by the end of their dotted name
DEFAULT_TARGETS = {
    "ar_nar": ["qkv", "out", "gate", "up", "down"],
    "llm": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
}


@dataclass
class LoraSettings:
    rank: int = 8
    alpha: float = 16.0  # the update is scaled by alpha / rank
    dropout: float = 0.0
    # a list: module names matched by the end of their dotted name ("qkv" matches
    # blocks.0.attn.qkv); a string: a regular expression the whole module name must match.
    # None: attention and MLP projections of the family (DEFAULT_TARGETS)
    target_modules: Optional[Union[list, str]] = None
    # also train the audio embeddings and heads (AR+NAR: every level's code embedding and
    # head; LLM-TTS: the embedding rows of the audio ids, tied to the output layer)
    train_embeddings: bool = False

    def validate(self) -> None:
        if self.rank < 1:
            raise ConfigError(f"lora.rank must be >= 1, got {self.rank}")
        if self.alpha <= 0:
            raise ConfigError(f"lora.alpha must be positive, got {self.alpha}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"lora.dropout must be in [0, 1), got {self.dropout}")
        targets = self.target_modules
        if isinstance(targets, list) and (not targets or not all(isinstance(t, str) and t
                                                                 for t in targets)):
            raise ConfigError("lora.target_modules must be a non-empty list of module names "
                              "or one regular expression")


@dataclass
class FullSettings:
    freeze_layers: int = 0  # the first N transformer blocks stay as in the base
    freeze_embeddings: bool = False  # text and audio embeddings stay as in the base

    def validate(self) -> None:
        if self.freeze_layers < 0:
            raise ConfigError(f"full.freeze_layers must be >= 0, got {self.freeze_layers}")


@dataclass
class UnslothSettings:
    load_in_4bit: bool = False  # QLoRA: the frozen base in 4 bits (bitsandbytes)
    max_seq_length: int = 2048  # longest sequence unsloth prepares its kernels for

    def validate(self) -> None:
        if self.max_seq_length < 16:
            raise ConfigError(f"unsloth.max_seq_length must be >= 16, got {self.max_seq_length}")


@dataclass
class FinetuneData:
    """Overrides of the base checkpoint's ``data`` section; None keeps the base's value."""

    path: Optional[str] = None  # prepared shards of the speaker (default <output_dir>/data)
    language: Optional[str] = None
    min_seconds: Optional[float] = None
    max_seconds: Optional[float] = None
    prompt_seconds: Optional[float] = None
    # aligner directory (python -m vall_e.align train) that times clips without a teacher
    # .timing.json; an AR+NAR base with phoneme alignment (the default) needs it for a
    # user's own recordings: data/aligner is the one trained on the default corpus
    aligner: Optional[str] = None
    val_fraction: float = 0.2  # held-out clips: the before/after loss is measured on them
    # share of steps that also train speech-to-IPA (AR+NAR models with the stt task): the
    # fine-tune is about the voice, so none by default
    stt_probability: float = 0.0

    def resolve(self, base: DataConfig, output_dir: Path) -> DataConfig:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                  if getattr(self, f.name) is not None}
        values.setdefault("path", str(output_dir / "data"))
        # the base's weights name its corpus speakers, which a speaker's folder does not have
        values["speaker_weights"] = {}
        return dataclasses.replace(base, **values)

    def validate(self) -> None:
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"data.val_fraction must be in (0, 1), got {self.val_fraction}")
        if not 0 <= self.stt_probability <= 1:
            raise ConfigError(f"data.stt_probability must be in [0, 1], got {self.stt_probability}")


@dataclass
class FinetuneTrain(TrainConfig):
    """``vall_e.config.TrainConfig`` with defaults for a short fine-tune. ``output_dir``
    receives the prepared data, Lightning's resume state and the adapter / checkpoint."""

    output_dir: str = "runs/finetune"
    max_steps: int = 200
    learning_rate: float = 1e-3
    warmup_steps: int = 10
    val_every_n_steps: int = 50
    checkpoint_every_n_steps: int = 50


@dataclass
class FinetuneConfig:
    base: Optional[str] = None  # base checkpoint directory
    speaker_data: Optional[str] = None  # the speaker's recordings + transcripts
    method: str = "lora"
    backend: str = "torch"
    codec_path: Optional[str] = None  # codec weights, overriding the ones the base names
    lora: LoraSettings = field(default_factory=LoraSettings)
    full: FullSettings = field(default_factory=FullSettings)
    unsloth: UnslothSettings = field(default_factory=UnslothSettings)
    data: FinetuneData = field(default_factory=FinetuneData)
    train: FinetuneTrain = field(default_factory=lambda: FinetuneTrain())

    def validate(self) -> "FinetuneConfig":
        if self.method not in METHODS:
            raise ConfigError(f"method '{self.method}' is not supported; use one of {list(METHODS)}")
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend '{self.backend}' is not supported; use one of {list(BACKENDS)}")
        if self.backend == "unsloth" and self.method != "lora":
            raise ConfigError("backend unsloth trains LoRA adapters only: set method: lora "
                              "(or backend: torch)")
        for section in (self.lora, self.full, self.unsloth, self.data, self.train):
            section.validate()
        return self

    def require_paths(self) -> None:
        """Before a run: the base and the speaker data must be named (YAML or CLI flags)."""
        if not self.base:
            raise ConfigError("no base checkpoint: set base: in the YAML or pass --base DIR")
        if not self.speaker_data:
            raise ConfigError("no speaker data: set speaker_data: in the YAML or pass --data DIR "
                              "(<speaker>/<id>.wav with <id>.txt beside it)")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict, source: str = "finetune config") -> "FinetuneConfig":
        if isinstance(raw, dict):
            _refuse_unused_sections(raw, source)
        return build_dataclass(cls, raw, source).validate()

    @classmethod
    def from_yaml(cls, path: str | Path) -> "FinetuneConfig":
        return cls.from_dict(read_yaml(path, "fine-tuning recipe"), source=str(path))


def _refuse_unused_sections(raw: dict, source: str) -> None:
    method, backend = raw.get("method", "lora"), raw.get("backend", "torch")
    unused = {"lora": method != "lora", "full": method != "full", "unsloth": backend != "unsloth"}
    for section, is_unused in unused.items():
        if is_unused and section in raw:
            owner = "backend" if section == "unsloth" else "method"
            raise ConfigError(f"{source}: the '{section}' section is for {owner} {section}, but "
                              f"this config has method {method}, backend {backend}; remove it")
