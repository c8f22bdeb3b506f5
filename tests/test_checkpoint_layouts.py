"""One metadata file for both families (vall_e.json), and AR+NAR checkpoints written before it
(metadata in config.json, as the shipped default and runs/default's checkpoints are) still load."""
import json
import shutil

import pytest
import torch

from vall_e.checkpoint import checkpoint_family, load_checkpoint, save_like, weights_module
from vall_e.checkpoint_format import LEGACY_META_FILE, META_FILE, metadata_file
from vall_e.errors import CheckpointError


def _old_layout(random_checkpoints, tmp_path):
    """The random AR+NAR checkpoint as the writer before vall_e.json laid it out: the same
    record, in config.json."""
    old = tmp_path / "old"
    shutil.copytree(random_checkpoints["ar_nar"], old)
    (old / META_FILE).rename(old / LEGACY_META_FILE)
    return old


def _same_weights(a, b) -> bool:
    expected = weights_module(a).state_dict()
    return all(torch.equal(t, expected[k]) for k, t in weights_module(b).state_dict().items())


def test_both_families_write_their_record_to_vall_e_json(random_checkpoints):
    ar_nar, llm = random_checkpoints["ar_nar"], random_checkpoints["llm"]
    assert sorted(p.name for p in ar_nar.iterdir()) == ["model.safetensors", META_FILE,
                                                        "vocab.json"]
    hf_config = json.loads((llm / "config.json").read_text())  # the Hugging Face model's own
    assert (llm / META_FILE).is_file() and "model_type" in hf_config
    for family, path in random_checkpoints.items():  # the family key tells them apart
        assert json.loads((path / META_FILE).read_text())["family"] == family
        assert checkpoint_family(path) == family and metadata_file(path) == path / META_FILE


def test_an_old_layout_ar_nar_checkpoint_loads_as_before(random_checkpoints, tmp_path):
    old = _old_layout(random_checkpoints, tmp_path)
    assert checkpoint_family(old) == "ar_nar" and metadata_file(old) == old / LEGACY_META_FILE
    loaded = load_checkpoint(old)
    assert loaded.family == "ar_nar" and loaded.path == old
    assert _same_weights(load_checkpoint(random_checkpoints["ar_nar"]), loaded)


def test_rewriting_an_old_checkpoint_writes_the_new_layout(random_checkpoints, tmp_path):
    from vall_e.export.safetensors_export import export_safetensors

    old = _old_layout(random_checkpoints, tmp_path)
    (old / "README.txt").write_text("kept")  # an extra file still travels with an export
    for out in (save_like(load_checkpoint(old), tmp_path / "saved"),
                export_safetensors(old, tmp_path / "exported", "float32")):
        # the old config.json is not copied beside vall_e.json: it would be a stale record
        assert (out / META_FILE).is_file() and not (out / LEGACY_META_FILE).exists()
        assert _same_weights(load_checkpoint(old), load_checkpoint(out))
    assert (tmp_path / "exported" / "README.txt").read_text() == "kept"


def test_an_old_layout_checkpoint_quantizes_and_loads(random_checkpoints, tmp_path):
    from vall_e.quantize import QuantSpec, quantize_checkpoint

    old = _old_layout(random_checkpoints, tmp_path)
    out = quantize_checkpoint(old, tmp_path / "int8", QuantSpec(bits=8, group_size=0)).path
    assert load_checkpoint(out).family == "ar_nar"


def test_a_record_that_contradicts_the_directory_is_one_line(random_checkpoints, tmp_path):
    old = _old_layout(random_checkpoints, tmp_path)
    meta = json.loads((old / LEGACY_META_FILE).read_text())
    (old / LEGACY_META_FILE).write_text(json.dumps({**meta, "family": "llm"}))
    with pytest.raises(CheckpointError, match="says family 'llm' but .* has no vall_e.json"):
        load_checkpoint(old)
    new = tmp_path / "new"
    shutil.copytree(random_checkpoints["ar_nar"], new)
    (new / META_FILE).write_text(json.dumps({**meta, "family": "llm"}))
    with pytest.raises(CheckpointError, match="says family 'llm' but .* no Hugging Face config"):
        load_checkpoint(new)
    for family in ("tacotron", None):
        (new / META_FILE).write_text(json.dumps({**meta, "family": family}))
        with pytest.raises(CheckpointError, match=f"unknown model family {family!r}"):
            load_checkpoint(new)
    (new / META_FILE).write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(new)
    (new / META_FILE).unlink()
    with pytest.raises(CheckpointError, match="not a vall_e checkpoint: vall_e.json is missing"):
        load_checkpoint(new)
