"""The full fine-tune recipe: a low learning rate, the first block frozen, a whole checkpoint."""
from pathlib import Path

import pytest
import torch

from tests.finetune.conftest import run_recipe
from vall_e.errors import ConfigError


def test_full_recipe_lowers_the_heldout_loss_and_keeps_frozen_layers(tiny_run, speaker_corpus,
                                                                     tmp_path):
    from vall_e.inference.loader import load_engine
    from vall_e.models.checkpoint import load_checkpoint

    report = run_recipe("full", tiny_run.checkpoint, speaker_corpus, tmp_path / "run")
    assert report["method"] == "full" and report["final_loss"] < report["base_loss"]
    tuned = load_checkpoint(report["artifact"])
    base = load_checkpoint(tiny_run.checkpoint)
    assert tuned.step == base.step + 20
    frozen, trained = tuned.model.blocks[0], tuned.model.blocks[1]  # full.freeze_layers: 1
    for name, param in frozen.state_dict().items():
        assert torch.equal(param, base.model.blocks[0].state_dict()[name]), name
    assert not torch.equal(trained.mlp.up.weight, base.model.blocks[1].mlp.up.weight)
    engine = load_engine(Path(report["artifact"]), device="cpu")  # an ordinary checkpoint
    assert engine.family == "ar_nar"


def test_freezing_more_layers_than_the_base_has_is_refused(tiny_run):
    from vall_e.finetune.base import load_base
    from vall_e.finetune.config import FullSettings
    from vall_e.finetune.full import prepare_full

    base = load_base(tiny_run.checkpoint)
    with pytest.raises(ConfigError, match="freeze at most 2"):
        prepare_full(base, FullSettings(freeze_layers=3))
    model = prepare_full(base, FullSettings(freeze_layers=2, freeze_embeddings=True))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and not any(n.startswith(("blocks.", "text_embedding", "code_embeddings"))
                                 for n in trainable)
