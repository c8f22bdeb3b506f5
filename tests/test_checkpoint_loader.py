"""vall_e.checkpoint: one loader and one record for both families, one format check."""
import json

import pytest
import torch

from vall_e.checkpoint import Checkpoint, checkpoint_family, load_checkpoint, save_like, weights_module
from vall_e.errors import CheckpointError

FAMILIES = ("ar_nar", "llm")


@pytest.mark.parametrize("family", FAMILIES)
def test_one_record_for_either_family(random_checkpoints, family):
    path = random_checkpoints[family]
    loaded = load_checkpoint(path)
    assert isinstance(loaded, Checkpoint)
    assert checkpoint_family(path) == loaded.family == family
    assert loaded.path == path and loaded.step == 0
    assert loaded.codec_info.name == "encodec" and loaded.config.model.family == family
    assert not loaded.model.training
    if family == "ar_nar":  # the text front end: the phoneme vocabulary
        assert len(loaded.tokenizer) > 4 and loaded.voices == []
        assert weights_module(loaded) is loaded.model
    else:  # the layout maps text to ids itself
        assert loaded.tokenizer is None and loaded.model.layout.name == "flat"
        assert weights_module(loaded) is loaded.model.lm


@pytest.mark.parametrize("family", FAMILIES)
def test_dtype_casts_the_float_weights(random_checkpoints, family):
    loaded = load_checkpoint(random_checkpoints[family], dtype=torch.bfloat16)
    assert {p.dtype for p in loaded.model.parameters()} == {torch.bfloat16}


@pytest.mark.parametrize("family", FAMILIES)
def test_save_like_writes_the_same_family_and_loads_back(random_checkpoints, family, tmp_path):
    loaded = load_checkpoint(random_checkpoints[family])
    out = save_like(loaded, tmp_path / "copy", step=5)
    again = load_checkpoint(out)
    assert again.family == family and again.step == 5
    assert again.codec_info == loaded.codec_info and again.voices == loaded.voices
    expected = weights_module(loaded).state_dict()
    for key, tensor in weights_module(again).state_dict().items():
        assert torch.equal(tensor, expected[key]), key


@pytest.mark.parametrize("family", FAMILIES)
def test_both_families_share_one_format_and_version_check(random_checkpoints, family, tmp_path):
    meta_file = "vall_e.json"  # both families' metadata record
    loaded = load_checkpoint(random_checkpoints[family])
    path = save_like(loaded, tmp_path / "ckpt")
    meta = json.loads((path / meta_file).read_text())
    (path / meta_file).write_text(json.dumps({**meta, "version": 99}))
    with pytest.raises(CheckpointError, match="has checkpoint version 99; this vall_e reads 1"):
        load_checkpoint(path)
    (path / meta_file).write_text(json.dumps({**meta, "format": "other"}))
    with pytest.raises(CheckpointError, match="does not describe a vall_e .* checkpoint"):
        load_checkpoint(path)


def test_a_quantized_directory_loads_through_the_same_loader(random_checkpoints, tmp_path):
    from vall_e.quantize import QuantSpec, quantize_checkpoint

    out = quantize_checkpoint(random_checkpoints["ar_nar"], tmp_path / "int8",
                              QuantSpec(bits=8, group_size=0)).path
    loaded = load_checkpoint(out)
    assert loaded.family == "ar_nar" and loaded.path == out
    assert any(type(m).__name__ == "QuantLinear" for m in loaded.model.modules())


def test_not_a_checkpoint_is_one_line(tmp_path):
    with pytest.raises(CheckpointError, match="not a directory"):
        load_checkpoint(tmp_path / "missing")
    (tmp_path / "config.json").write_text(json.dumps({"family": "tacotron"}))
    with pytest.raises(CheckpointError, match="unknown model family 'tacotron'"):
        load_checkpoint(tmp_path)
