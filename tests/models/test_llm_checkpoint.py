"""LLM-TTS checkpoints: our save_pretrained + vall_e.json format, plain Orpheus directories."""
import json

import pytest
import torch

from vall_e.codecs.base import CodecInfo
from vall_e.config import Config
from vall_e.errors import CheckpointError
from vall_e.checkpoint import checkpoint_family
from vall_e.models.llm_checkpoint import load_llm_checkpoint, save_llm_checkpoint
from vall_e.models.llm_layouts import FlatLayout
from vall_e.models.llm_tts import LLMTTSModel, build_llama
from vall_e.models.orpheus_random import save_random_orpheus
from vall_e.text.tokenizer import PhonemeTokenizer

INFO = CodecInfo("encodec", 24000, 75.0, 2, 1024)


def make(tmp_path, units="phonemes"):
    config = Config.from_dict({"model": {"family": "llm", "layout": "flat", "text_units": units,
                                         "d_model": 16, "n_layers": 2, "n_heads": 2}})
    layout = FlatLayout(PhonemeTokenizer(["a", "b", " "]), units, 2, 1024)
    model = LLMTTSModel(build_llama(config.model, layout.vocab_size, 0, 1, layout.SPEECH_END), layout)
    return save_llm_checkpoint(tmp_path / "ckpt", model, config, INFO, step=5), model


def test_round_trip_restores_weights_layout_and_codec(tmp_path):
    path, model = make(tmp_path, units="characters")
    assert {"config.json", "model.safetensors", "vall_e.json", "vocab.json"} <= {p.name for p in path.iterdir()}
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no staging leftovers
    loaded = load_llm_checkpoint(path)
    assert loaded.step == 5 and loaded.codec_info == INFO and loaded.voices == []
    assert loaded.model.layout.text_units == "characters"
    assert loaded.model.layout.text_vocab.vocab == model.layout.text_vocab.vocab
    for key, value in model.lm.state_dict().items():
        assert torch.equal(value, loaded.model.lm.state_dict()[key]), key
    assert checkpoint_family(path) == "llm"


def test_plain_hf_directory_is_read_as_orpheus(tmp_path):
    path = save_random_orpheus(tmp_path / "orpheus")
    assert not (path / "vall_e.json").exists()
    loaded = load_llm_checkpoint(path)
    assert loaded.model.layout.name == "orpheus"
    assert loaded.codec_info.name == "snac" and loaded.codec_info.n_levels == 7
    assert "tara" in loaded.voices


def test_hf_directory_without_orpheus_ids_is_refused(tmp_path):
    path = save_random_orpheus(tmp_path / "orpheus")
    config = json.loads((path / "config.json").read_text())
    config["vocab_size"] = 1000
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="lacks the Orpheus audio ids"):
        load_llm_checkpoint(path)


def test_hub_ids_need_permission_and_fail_offline_with_one_line(tmp_path, monkeypatch):
    with pytest.raises(CheckpointError, match="allow downloads"):
        load_llm_checkpoint("canopylabs/orpheus-3b-0.1-ft")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CheckpointError, match="could not download") as err:
        load_llm_checkpoint("canopylabs/orpheus-3b-0.1-ft", allow_download=True)
    assert "\n" not in str(err.value)


def test_corrupt_and_foreign_metadata_is_refused(tmp_path):
    path, _ = make(tmp_path)
    (path / "vall_e.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_llm_checkpoint(path)
    (path / "vall_e.json").write_text(json.dumps({"format": "vall_e.checkpoint", "family": "ar_nar"}))
    with pytest.raises(CheckpointError, match="does not describe"):
        load_llm_checkpoint(path)
    with pytest.raises(CheckpointError, match="neither"):
        load_llm_checkpoint(tmp_path)


def test_vocabulary_smaller_than_the_layout_is_refused(tmp_path):
    path, _ = make(tmp_path)
    meta = json.loads((path / "vall_e.json").read_text())
    meta["layout"]["codebook_size"] = 4096  # the saved LM only covers 1024 codes per slot
    (path / "vall_e.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="smaller than"):
        load_llm_checkpoint(path)
