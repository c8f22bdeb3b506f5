"""``finetune(config)``: adapt a base checkpoint to one speaker, end to end.

    1. load the base (either family; unsloth's loader for ``backend: unsloth``)
    2. prepare the speaker folder with the base's codec into ``<output_dir>/data``
    3. measure the base's loss on the speaker's held-out clips
    4. attach the method (LoRA factors, unfrozen layers, or a zero speaker offset) and train
       with the project's Lightning trainer (strategy, devices, precision, accumulation,
       gradient checkpointing from ``train``; ``--resume`` continues ``lightning/last.ckpt``)
    5. measure the held-out loss again and write the result:
         lora    <output_dir>/adapter/                   (--lora DIR)
         full    <output_dir>/checkpoint/                (--model DIR)
         offset  <output_dir>/<speaker>.offset.safetensors (--speaker-offset FILE)
       plus ``finetune_report.json`` (losses, steps/s, tokens/s, trainable parameters, size).
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import lightning as L
import yaml

from vall_e.config import Config
from vall_e.errors import ConfigError
from vall_e.finetune.base import BaseModel, load_base
from vall_e.finetune.config import FinetuneConfig
from vall_e.finetune.data import (
    batch_tokens,
    datasets,
    heldout_loss,
    speaker_utterances,
)
from vall_e.inference.common import checkpoint_codec_path
from vall_e.training.train import (
    check_resume,
    make_loaders,
    make_trainer,
    resume_checkpoint,
)

REPORT_FILE = "finetune_report.json"


@dataclass
class FinetuneResult:
    method: str
    family: str
    speaker: str
    artifact: str  # the adapter directory, checkpoint directory or offset file
    artifact_bytes: int
    trainable_parameters: int
    base_loss: float  # on the speaker's held-out clips, before
    final_loss: float  # the same clips, after
    steps: int
    steps_per_second: float
    tokens_per_second: float
    train_seconds: float

    def summary(self) -> str:
        return (f"{self.method} fine-tune for speaker {self.speaker}: held-out loss "
                f"{self.base_loss:.4f} -> {self.final_loss:.4f}; {self.steps} steps at "
                f"{self.steps_per_second:.2f} steps/s, {self.tokens_per_second:.0f} tokens/s; "
                f"{self.trainable_parameters:,} trainable parameters; wrote {self.artifact} "
                f"({_human(self.artifact_bytes)})")


class Throughput(L.Callback):
    """Times training batches (the forward, backward and optimiser step; validation and the
    first batch, which pays for warm-up, are left out) and counts their tokens."""

    def __init__(self, family: str):
        self.family = family
        self.seconds = 0.0
        self.tokens = 0
        self.batches = 0
        self._start = None
        self._first = True

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if self._first:
            self._first = False
            return
        self.seconds += time.perf_counter() - self._start
        self.tokens += batch_tokens(self.family, batch) * trainer.world_size
        self.batches += 1


class TrainableOnlyCheckpoint(L.Callback):
    """Keep only trainable weights in Lightning's resume file: the frozen base is reloaded
    from the base checkpoint anyway, and for a LoRA or offset on a large model it would make
    every ``last.ckpt`` as big as the model."""

    def on_save_checkpoint(self, trainer, module, checkpoint) -> None:
        frozen = {name for name, p in module.named_parameters() if not p.requires_grad}
        state = checkpoint["state_dict"]
        for name in frozen & set(state):
            del state[name]


def experiment_config(config: FinetuneConfig, base: BaseModel) -> Config:
    """The base's model / codec / inference sections with the fine-tune's data and train."""
    from dataclasses import replace

    codec_path = config.codec_path or checkpoint_codec_path(base.config, base.path)
    return Config(model=base.config.model, codec=replace(base.config.codec, path=codec_path),
                  data=config.data.resolve(base.config.data, Path(config.train.output_dir)),
                  train=config.train, inference=base.config.inference).validate()


def _attach(config: FinetuneConfig, base: BaseModel):
    if config.method == "lora":
        from vall_e.finetune.lora import add_lora

        return add_lora(base, config.lora)
    if config.method == "full":
        from vall_e.finetune.full import prepare_full

        return prepare_full(base, config.full)
    from vall_e.finetune.offset import add_offset

    return add_offset(base)


def _load(config: FinetuneConfig) -> tuple[BaseModel, object]:
    """(the base, a function that attaches the method and returns the model to train)."""
    if config.backend == "unsloth":
        from vall_e.finetune.unsloth_backend import load_with_unsloth

        base, trained = load_with_unsloth(config)
        return base, lambda: trained
    base = load_base(config.base)
    return base, lambda: _attach(config, base)


def finetune(config: FinetuneConfig, resume: bool = False, progress: bool = True,
             callbacks: list | None = None) -> FinetuneResult:
    """Run the fine-tune ``config`` describes; see the module docstring."""
    config.validate()
    config.require_paths()
    if config.backend == "unsloth":  # before any slow work: no GPU, no unsloth -> one line
        from vall_e.finetune.unsloth_backend import require_unsloth

        require_unsloth(config)
    output_dir = Path(config.train.output_dir)
    last_ckpt = check_resume(output_dir, resume)
    L.seed_everything(config.train.seed, workers=True, verbose=False)
    base, attach = _load(config)
    experiment = experiment_config(config, base)
    _check_same_base(output_dir, base, resume)
    (output_dir / "finetune.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    speaker, utterances = speaker_utterances(experiment, config.speaker_data, base, progress)
    base.voices = base.ops.trained_voices(base.voices, base.model, speaker)
    train_set, val_set, collate = datasets(base, experiment, utterances)
    train_loader, val_loader = make_loaders(experiment, train_set, val_set, collate)
    base_loss = heldout_loss(base.model, base.family, val_loader)

    trained = attach()
    if config.train.gradient_checkpointing and config.backend == "torch":
        trained.set_gradient_checkpointing(True)  # unsloth brings its own
    module = base.ops.lightning_module(trained, experiment)
    module.strict_loading = False  # the resume file lacks the frozen weights (see above)
    meter = Throughput(base.family)
    own = [resume_checkpoint(output_dir, config.train.checkpoint_every_n_steps), meter,
           TrainableOnlyCheckpoint()]
    trainer = make_trainer(experiment, output_dir, own + list(callbacks or []), progress)
    trainer.fit(module, train_loader, val_loader,
                ckpt_path=str(last_ckpt) if resume else None, weights_only=True)
    final_loss = heldout_loss(trained, base.family, val_loader)

    record = {"speaker": speaker, "voices": base.voices, "step": trainer.global_step,
              "heldout_loss": {"base": base_loss, "finetuned": final_loss},
              "finetune": config.to_dict()}
    artifact = _artifact_path(config, output_dir, speaker)
    if trainer.is_global_zero:
        _export(config.method, artifact, trained, base, experiment, record, trainer.global_step)
    steps = meter.batches / config.train.accumulate_grad_batches
    result = FinetuneResult(
        config.method, base.family, speaker, str(artifact),
        _size(artifact) if trainer.is_global_zero else 0,
        sum(p.numel() for p in trained.parameters() if p.requires_grad), base_loss, final_loss,
        trainer.global_step, steps / max(meter.seconds, 1e-9),
        meter.tokens / max(meter.seconds, 1e-9), meter.seconds)
    if trainer.is_global_zero:
        (output_dir / REPORT_FILE).write_text(json.dumps(asdict(result), indent=2))
    return result


def _check_same_base(output_dir: Path, base: BaseModel, resume: bool) -> None:
    """Record the base of a run; a resume on another base would mix two bases' adapters."""
    stamp = output_dir / "base.json"
    if resume and stamp.is_file():
        recorded = json.loads(stamp.read_text()).get("fingerprint")
        if recorded != base.fingerprint:
            raise ConfigError(f"{output_dir} was started on another base model (fingerprint "
                              f"{str(recorded)[:12]}, now {base.fingerprint[:12]}); resume it "
                              "with the same base or start a new --output-dir")
    output_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps({"path": str(base.path), "fingerprint": base.fingerprint}))


def _artifact_path(config: FinetuneConfig, output_dir: Path, speaker: str) -> Path:
    if config.method == "lora":
        return output_dir / "adapter"
    if config.method == "full":
        return output_dir / "checkpoint"
    return output_dir / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', speaker)}.offset.safetensors"


def _export(method: str, path: Path, trained, base: BaseModel, experiment: Config, record: dict,
            step: int) -> None:
    if method == "lora":
        from vall_e.finetune.lora import save_adapter

        save_adapter(path, trained, base, record)
    elif method == "full":
        from vall_e.finetune.full import save_full

        save_full(path, trained, base, experiment, base.step + step)
    else:
        from vall_e.finetune.offset import save_offset

        save_offset(path, trained, base, record["speaker"], record)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _human(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"

