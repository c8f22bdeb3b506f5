"""Full fine-tuning: every weight trains (at a low learning rate), optionally with the first
transformer blocks and the embeddings frozen, which keeps what the base learned about text and
low-level acoustics and leaves less to overfit on a few minutes of one speaker.

The result is an ordinary checkpoint of the base's family (``--model DIR``), not an adapter.
"""
from __future__ import annotations

from pathlib import Path

from torch import nn

from vall_e.config import Config
from vall_e.errors import ConfigError
from vall_e.finetune.base import BaseModel
from vall_e.finetune.config import FullSettings


def prepare_full(base: BaseModel, settings: FullSettings) -> nn.Module:
    """Mark what trains; returns the model (all of it trainable but the frozen parts)."""
    blocks = base.ops.blocks(base.model)
    if settings.freeze_layers > len(blocks):
        raise ConfigError(f"full.freeze_layers is {settings.freeze_layers} but the base has "
                          f"{len(blocks)} layers; freeze at most {len(blocks)}")
    for param in base.model.parameters():
        param.requires_grad_(True)
    frozen = list(blocks[: settings.freeze_layers])
    if settings.freeze_embeddings:
        frozen += base.ops.embeddings(base.model)
    for module in frozen:
        for param in module.parameters():
            param.requires_grad_(False)
    return base.model


def save_full(directory: str | Path, model: nn.Module, base: BaseModel, config: Config,
              step: int) -> Path:
    """Write the fine-tuned model as a checkpoint of the base's family (atomically)."""
    from vall_e.checkpoint import save_like

    return save_like(base, directory, model, config, step)
