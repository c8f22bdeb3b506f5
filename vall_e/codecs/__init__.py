"""Neural audio codecs behind one protocol: ``get_codec(config)`` -> ``AudioCodec``.

Backends are listed in ``CODECS`` as ``"module:Class"`` strings and imported only when asked
for, so ``import vall_e.codecs`` stays cheap (transformers alone takes over a second). Adding a
backend is one line in ``CODECS``; the class implements ``AudioCodec`` (see ``base.py``).
``mel_rvq`` is the project's own codec (``vall_e.codecs.mel``), trained with
``python -m vall_e.codecs.train --yaml configs/codec/mel50.yaml``.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import torch

from vall_e.codecs.base import AudioCodec, CodecInfo
from vall_e.config import CodecConfig
from vall_e.errors import ConfigError

CODECS: dict[str, str] = {
    "encodec": "vall_e.codecs.encodec:EncodecCodec",
    "snac": "vall_e.codecs.snac:SnacCodec",
    "mel_rvq": "vall_e.codecs.mel:MelCodec",  # our own, trained by vall_e.codecs.train
}

__all__ = ["AudioCodec", "CodecInfo", "CODECS", "codec_class", "get_codec", "save_random_codec"]


def codec_class(name: str) -> type[AudioCodec]:
    """The ``AudioCodec`` subclass registered as ``name`` (imports its module on first use)."""
    if name not in CODECS:
        raise ConfigError(f"unknown codec.name '{name}'; valid names: {sorted(CODECS)}")
    module_name, class_name = CODECS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def get_codec(config: CodecConfig, device: str | torch.device = "cpu") -> AudioCodec:
    """Load the codec described by ``config`` onto ``device``."""
    return codec_class(config.name).from_config(config, device=device)


def save_random_codec(name: str, directory: str | Path, seed: int = 0) -> Path:
    """Write seeded random weights for codec ``name`` to ``directory`` (for tests and demos)."""
    return codec_class(name).save_random(directory, seed=seed)
