import json

import pytest
import torch

from vall_e.codecs.base import CodecInfo
from vall_e.config import Config
from vall_e.errors import CheckpointError
from vall_e.models.checkpoint import build_model, load_checkpoint, save_checkpoint
from vall_e.text.tokenizer import PhonemeTokenizer

INFO = CodecInfo("encodec", 24000, 75.0, 2, 1024)


def make(tmp_path, d_model=32):
    config = Config.from_dict({"model": {"d_model": d_model, "n_layers": 2, "n_heads": 2}})
    tokenizer = PhonemeTokenizer(["a", "b", "ˈ", " "])
    model = build_model(config, tokenizer, INFO)
    return save_checkpoint(tmp_path / "ckpt", model, config, tokenizer, INFO, step=7), model


def test_round_trip_restores_weights_vocab_and_codec(tmp_path):
    path, model = make(tmp_path)
    assert sorted(p.name for p in path.iterdir()) == ["model.safetensors", "vall_e.json", "vocab.json"]
    loaded = load_checkpoint(path)
    assert loaded.step == 7 and loaded.codec_info == INFO
    assert loaded.tokenizer.vocab == PhonemeTokenizer(["a", "b", "ˈ", " "]).vocab
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.model.state_dict()[key])


def test_overwrite_is_atomic_and_leaves_no_temp_dirs(tmp_path):
    make(tmp_path)
    make(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_missing_and_foreign_directories_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="not a directory"):
        load_checkpoint(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="vall_e.json is missing"):
        load_checkpoint(tmp_path / "empty")


def test_other_family_and_version_are_refused(tmp_path):
    path, _ = make(tmp_path)
    meta = json.loads((path / "vall_e.json").read_text())
    (path / "vall_e.json").write_text(json.dumps({**meta, "family": "llm"}))
    with pytest.raises(CheckpointError, match="not an AR\\+NAR"):
        load_checkpoint(path)
    (path / "vall_e.json").write_text(json.dumps({**meta, "version": 99}))
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(path)


def test_weights_of_another_model_are_refused(tmp_path):
    path, _ = make(tmp_path)
    other, _ = make(tmp_path / "other", d_model=64)
    (path / "model.safetensors").write_bytes((other / "model.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(path)


def test_corrupt_weights_are_refused(tmp_path):
    path, _ = make(tmp_path)
    (path / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(path)
