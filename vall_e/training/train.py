"""Train a model (AR+NAR or LLM-TTS, per ``model.family``) from prepared shards.

Output directory layout:
    config.yaml           the exact config of the run
    vocab.json            the text vocabulary (fixed at the first start, reused on resume)
    lightning/last.ckpt   optimiser + loop state for --resume (tensors and plain values only)
    checkpoints/step-N/   exported inference checkpoints (the newest few are kept)
    latest/               the newest exported checkpoint
    logs/version_*/       CSV metrics (one version per start, so resuming never erases logs)
A second start on a directory that already holds a run is refused unless ``resume=True``.
Devices, distribution and memory come from ``train``: Lightning's own strategies (``strategy:
ddp`` / ``fsdp`` / ``deepspeed*``), ``devices``, ``precision``, ``accumulate_grad_batches`` and
``gradient_checkpointing`` (``make_trainer``, shared with ``vall_e.finetune``).
"""
from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader

from vall_e.config import Config
from vall_e.data.shards import load_prepared
from vall_e.errors import CodecMismatchError, ConfigError
from vall_e.families import family_of
from vall_e.training.export_callback import ExportCheckpoint
from vall_e.training.sampler import LengthBucketBatchSampler, utterance_lengths


def _check_codec(config: Config, info) -> None:
    if info.name != config.codec.name or info.n_levels != config.codec.n_levels:
        raise CodecMismatchError(
            f"data at {config.data.path} was prepared with {info.name} ({info.n_levels} levels) "
            f"but the config asks for {config.codec.name} ({config.codec.n_levels} levels); "
            "re-prepare the data or fix the codec section"
        )


def _loggers(config: Config, output_dir: Path) -> list:
    loggers = [CSVLogger(save_dir=str(output_dir), name="logs")]
    if config.train.wandb:
        from lightning.pytorch.loggers import WandbLogger

        loggers.append(
            WandbLogger(project=config.train.wandb_project, save_dir=str(output_dir), offline=True)
        )
    return loggers


def train(config: Config, resume: bool = False, progress: bool = True,
          callbacks: list | None = None) -> Path:
    """Run (or continue) training; returns the directory of the newest exported checkpoint.

    ``callbacks``: extra Lightning callbacks (after the run's own checkpointing and export).
    """
    config.validate()
    if not config.data.path:
        raise ConfigError("data.path is not set: pass --data DIR (prepared shards) or set it in YAML")
    output_dir = Path(config.train.output_dir)
    last_ckpt = check_resume(output_dir, resume)
    # Nothing in the run directory changes before the config and the data are known to be
    # good: a --resume with a broken YAML or the wrong data must leave the run as it was.
    codec_info, utterances = load_prepared(config.data.path)
    _check_codec(config, codec_info)
    output_dir.mkdir(parents=True, exist_ok=True)
    L.seed_everything(config.train.seed, workers=True, verbose=False)  # seeds model init too
    setup = family_of(config.model.family).setup(config, output_dir, utterances, codec_info, resume)
    save_yaml_atomically(config, output_dir / "config.yaml")
    if config.train.gradient_checkpointing:
        setup.module.model.set_gradient_checkpointing(True)
    train_loader, val_loader = make_loaders(config, setup.train_set, setup.val_set, setup.collate)
    every = config.train.checkpoint_every_n_steps
    exporter = ExportCheckpoint(output_dir, setup.export, every, config.train.keep_last_checkpoints,
                                config.train.keep_every_n_steps)
    # the rate goes into metrics.csv: a schedule that does not do what the YAML says shows there
    own = [resume_checkpoint(output_dir, every), exporter, LearningRateMonitor(logging_interval="step")]
    trainer = make_trainer(config, output_dir, own + list(callbacks or []), progress)
    trainer.fit(setup.module, train_loader, val_loader,
                ckpt_path=str(last_ckpt) if resume else None, weights_only=True)
    return output_dir / "latest"


def save_yaml_atomically(config: Config, path: Path) -> None:
    """``config`` as YAML at ``path``, via a sibling temp file: never a half-written config."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        config.save_yaml(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_resume(output_dir: Path, resume: bool) -> Path:
    """Lightning's resume file of a run directory; refuses to overwrite or to resume nothing."""
    last_ckpt = output_dir / "lightning" / "last.ckpt"
    if last_ckpt.exists() and not resume:
        raise ConfigError(
            f"{output_dir} already holds a training run; pass --resume to continue it "
            "or choose another --output-dir"
        )
    if resume and not last_ckpt.exists():
        raise ConfigError(f"nothing to resume: {last_ckpt} does not exist")
    return last_ckpt


def resume_checkpoint(output_dir: Path, every: int) -> ModelCheckpoint:
    """Writes ``lightning/last.ckpt`` (optimiser + loop state) every ``every`` steps.

    Always that one file: with Lightning's version counter a run resumed from a directory that
    was moved or copied writes ``last-v1.ckpt`` beside the stale ``last.ckpt``, and the next
    ``--resume`` would silently go back to the stale one.
    """
    return ModelCheckpoint(dirpath=str(output_dir / "lightning"), every_n_train_steps=every,
                           save_top_k=0, save_last=True, enable_version_counter=False)


def make_loaders(config: Config, train_set, val_set, collate) -> tuple[DataLoader, DataLoader]:
    # under ddp / fsdp Lightning swaps in a DistributedSampler (each rank its own share)
    args = dict(collate_fn=collate, num_workers=config.train.num_workers)
    drop_last = len(train_set) > config.train.batch_size
    if config.data.bucket_by_length:
        if config.train.devices not in (1, "1"):
            raise ConfigError("data.bucket_by_length batches on one device only; set it to false "
                              "to train on several devices")
        sampler = LengthBucketBatchSampler(utterance_lengths(train_set), config.train.batch_size,
                                           seed=config.train.seed, drop_last=drop_last,
                                           weights=speaker_item_weights(config, train_set))
        train_loader = DataLoader(train_set, batch_sampler=sampler, **args)
    else:
        train_loader = DataLoader(train_set, batch_size=config.train.batch_size, shuffle=True,
                                  drop_last=drop_last, **args)
    return train_loader, DataLoader(val_set, batch_size=config.train.batch_size, **args)


def speaker_item_weights(config: Config, train_set) -> list[float] | None:
    """Each training item's ``data.speaker_weights`` entry (1 for speakers not named); None
    without weights. A named speaker the training set lacks is a mistake, not a no-op."""
    weights = config.data.speaker_weights
    if not weights:
        return None
    speakers = [u.speaker for u in train_set.utterances]
    missing = sorted(set(weights) - set(speakers))
    if missing:
        known = ", ".join(sorted(set(speakers))[:8])
        raise ConfigError(f"data.speaker_weights names speakers the training data lacks: "
                          f"{', '.join(missing)} (some it has: {known})")
    return [float(weights.get(s, 1.0)) for s in speakers]


def _strategy(config: Config):
    """train.strategy as Lightning takes it: plain DDP refuses a family whose steps leave some
    parameters unused (``Family.unused_parameters_under_ddp``) unless told to look for them."""
    family = family_of(config.model.family)
    if config.train.strategy == "ddp" and family.unused_parameters_under_ddp:
        return "ddp_find_unused_parameters_true"
    return config.train.strategy


def make_trainer(config: Config, output_dir: Path, callbacks: list, progress: bool) -> L.Trainer:
    """The Lightning Trainer every vall_e run uses (training and fine-tuning): strategy,
    devices, precision and gradient accumulation from ``config.train``."""
    if not progress:
        logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    train = config.train
    return L.Trainer(
        max_steps=train.max_steps,
        max_time=None if train.max_minutes is None else timedelta(minutes=train.max_minutes),
        accelerator=train.accelerator,
        devices=train.devices,
        strategy=_strategy(config),
        precision=train.precision,
        accumulate_grad_batches=train.accumulate_grad_batches,
        gradient_clip_val=train.grad_clip or None,
        val_check_interval=train.val_every_n_steps * train.accumulate_grad_batches,
        check_val_every_n_epoch=None,
        log_every_n_steps=train.log_every_n_steps,
        num_sanity_val_steps=0,
        enable_progress_bar=progress,
        enable_model_summary=progress,
        logger=_loggers(config, output_dir),
        callbacks=callbacks,
        default_root_dir=str(output_dir),
    )
