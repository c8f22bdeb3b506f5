"""backend: unsloth is GPU-only: without a GPU it stops at once with one line. (Its GPU path
is untested: the project's machines have no GPU.)"""
import sys

import pytest

from tests.finetune.conftest import RECIPES
from vall_e.errors import ConfigError
from vall_e.finetune.config import FinetuneConfig


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the no-GPU refusal")
def test_unsloth_recipe_stops_at_once_without_a_gpu(tmp_path, capsys):
    from vall_e.cli.common import run_main
    from vall_e.cli.finetune import main

    out = tmp_path / "run"
    code = run_main(main, ["--yaml", str(RECIPES / "unsloth_llm.yaml"), "--base", str(tmp_path),
                           "--data", str(tmp_path), "--output-dir", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert "backend unsloth needs an NVIDIA GPU" in err and "backend: torch" in err
    assert not out.exists()  # nothing was prepared or loaded
    assert "unsloth" not in sys.modules


def test_missing_unsloth_names_the_extra(monkeypatch):
    import torch

    from vall_e.finetune.unsloth_backend import require_unsloth

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setitem(sys.modules, "unsloth", None)  # as if not installed
    config = FinetuneConfig.from_yaml(RECIPES / "unsloth_llm.yaml")
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[gpu\]'"):
        require_unsloth(config)
    config.train.devices = 2
    with pytest.raises(ConfigError, match="one GPU"):
        require_unsloth(config)
