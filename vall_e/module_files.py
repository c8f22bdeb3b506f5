"""A small network saved as a directory: its weights (safetensors) beside its config (JSON), the
layout of the aligner, the phoneme critic and the voice encoder."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import save_file


def save_module(module: torch.nn.Module, config, directory: str | Path, weights_file: str,
                config_file: str, dtype: torch.dtype | None = None) -> Path:
    """Write ``module``'s state dict to ``directory/weights_file`` (in ``dtype`` when given, e.g.
    bfloat16 for a package; loading copies it back into the float32 parameters) and the
    dataclass ``config`` to ``directory/config_file``. Returns ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: (v.to(dtype) if dtype is not None else v).contiguous()
             for k, v in module.state_dict().items()}
    save_file(state, directory / weights_file)
    (directory / config_file).write_text(json.dumps(asdict(config), indent=1) + "\n")
    return directory
