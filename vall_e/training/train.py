"""Train a model (AR+NAR or LLM-TTS, per ``model.family``) from prepared shards.

Output directory layout:
    config.yaml           the exact config of the run
    vocab.json            the text vocabulary (fixed at the first start, reused on resume)
    lightning/last.ckpt   optimiser + loop state for --resume (tensors and plain values only)
    checkpoints/step-N/   exported inference checkpoints (the newest few are kept)
    latest/               the newest exported checkpoint
    logs/version_*/       CSV metrics (one version per start, so resuming never erases logs)
A second start on a directory that already holds a run is refused unless ``resume=True``.
"""
from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader

from vall_e.config import Config
from vall_e.data.shards import load_prepared
from vall_e.errors import CodecMismatchError, ConfigError
from vall_e.training.export_callback import ExportCheckpoint
from vall_e.training.setup import setup_for


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


def train(config: Config, resume: bool = False, progress: bool = True) -> Path:
    """Run (or continue) training; returns the directory of the newest exported checkpoint."""
    config.validate()
    if not config.data.path:
        raise ConfigError("data.path is not set: pass --data DIR (prepared shards) or set it in YAML")
    output_dir = Path(config.train.output_dir)
    last_ckpt = output_dir / "lightning" / "last.ckpt"
    if last_ckpt.exists() and not resume:
        raise ConfigError(
            f"{output_dir} already holds a training run; pass --resume to continue it "
            "or choose another --output-dir"
        )
    if resume and not last_ckpt.exists():
        raise ConfigError(f"nothing to resume: {last_ckpt} does not exist")
    output_dir.mkdir(parents=True, exist_ok=True)
    config.save_yaml(output_dir / "config.yaml")

    codec_info, utterances = load_prepared(config.data.path)
    _check_codec(config, codec_info)
    L.seed_everything(config.train.seed, workers=True, verbose=False)  # seeds model init too
    setup = setup_for(config, output_dir, utterances, codec_info, resume)
    loader_args = dict(collate_fn=setup.collate, num_workers=config.train.num_workers)
    train_loader = DataLoader(setup.train_set, batch_size=config.train.batch_size, shuffle=True,
                              drop_last=len(setup.train_set) > config.train.batch_size, **loader_args)
    val_loader = DataLoader(setup.val_set, batch_size=config.train.batch_size, **loader_args)

    every = config.train.checkpoint_every_n_steps
    callbacks = [
        ModelCheckpoint(dirpath=str(output_dir / "lightning"), every_n_train_steps=every,
                        save_top_k=0, save_last=True),
        ExportCheckpoint(output_dir, setup.export, every),
    ]
    if not progress:
        logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    trainer = L.Trainer(
        max_steps=config.train.max_steps,
        accelerator=config.train.accelerator,
        devices=config.train.devices,
        precision=config.train.precision,
        gradient_clip_val=config.train.grad_clip or None,
        val_check_interval=config.train.val_every_n_steps,
        check_val_every_n_epoch=None,
        log_every_n_steps=config.train.log_every_n_steps,
        num_sanity_val_steps=0,
        enable_progress_bar=progress,
        enable_model_summary=progress,
        logger=_loggers(config, output_dir),
        callbacks=callbacks,
        default_root_dir=str(output_dir),
    )
    trainer.fit(setup.module, train_loader, val_loader,
                ckpt_path=str(last_ckpt) if resume else None, weights_only=True)
    return output_dir / "latest"
