"""save_module: weights and config side by side, in another float type when asked."""
import json
from dataclasses import dataclass

import torch
from safetensors.torch import load_file

from vall_e.module_files import save_module


@dataclass
class TinyConfig:
    width: int = 3


def test_save_module_writes_weights_and_config(tmp_path):
    module = torch.nn.Linear(3, 2)
    out = save_module(module, TinyConfig(), tmp_path / "m", "w.safetensors", "c.json")
    assert json.loads((out / "c.json").read_text()) == {"width": 3}
    saved = load_file(out / "w.safetensors")
    assert torch.equal(saved["weight"], module.weight.detach())
    half = save_module(module, TinyConfig(), tmp_path / "h", "w.safetensors", "c.json", torch.bfloat16)
    assert all(v.dtype == torch.bfloat16 for v in load_file(half / "w.safetensors").values())
