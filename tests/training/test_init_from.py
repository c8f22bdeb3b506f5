"""train.init_from: a fresh run under a new config starting from a checkpoint's weights."""
import pytest
import torch
import yaml

from tests.conftest import run_module
from vall_e.config import Config
from vall_e.errors import CheckpointError, ConfigError
from vall_e.models.checkpoint import load_checkpoint
from vall_e.training.init_from import initial_model


def _config(tiny_run, **model) -> Config:
    config = Config.from_yaml(tiny_run.config_path)
    for key, value in model.items():
        setattr(config.model, key, value)
    return config.validate()


def test_same_shapes_copy_every_tensor_and_the_vocabulary(tiny_run, tmp_path):
    source = load_checkpoint(tiny_run.checkpoint)
    config = _config(tiny_run, text_position_rate=3.3)  # a new config, the same tensors
    model, tokenizer = initial_model(tiny_run.checkpoint, config, source.codec_info, tmp_path)
    theirs = source.model.state_dict()
    assert all(torch.equal(value, theirs[name]) for name, value in model.state_dict().items())
    assert (tmp_path / "vocab.json").read_text() == (tiny_run.checkpoint / "vocab.json").read_text()


def test_a_new_layer_starts_fresh_and_the_rest_is_copied(tiny_run, tmp_path):
    source = load_checkpoint(tiny_run.checkpoint)
    deeper = source.config.model.n_layers + 1
    model, _ = initial_model(tiny_run.checkpoint, _config(tiny_run, n_layers=deeper),
                             source.codec_info, tmp_path)
    theirs = source.model.state_dict()
    new_block = f"blocks.{deeper - 1}."
    for name, value in model.state_dict().items():
        if name.startswith(new_block):
            assert name not in theirs
        else:
            assert torch.equal(value, theirs[name]), name


def test_another_width_is_refused(tiny_run, tmp_path):
    source = load_checkpoint(tiny_run.checkpoint)
    wider = _config(tiny_run, d_model=source.config.model.d_model * 2)
    with pytest.raises(CheckpointError, match="no tensor of this model's shapes"):
        initial_model(tiny_run.checkpoint, wider, source.codec_info, tmp_path)


def test_llm_runs_start_from_base_model_instead():
    with pytest.raises(ConfigError, match="base_model"):
        Config.from_dict({"model": {"family": "llm", "layout": "flat"}, "train": {"init_from": "x"}})


@pytest.mark.slow
def test_training_starts_from_the_checkpoint_at_step_zero(tiny_run, tmp_path):
    config = yaml.safe_load(tiny_run.config_path.read_text())
    config["train"].update(output_dir=str(tmp_path / "run"), max_steps=2, init_from=str(tiny_run.checkpoint),
                           learning_rate=1e-12, warmup_steps=1, checkpoint_every_n_steps=2)
    path = tmp_path / "init.yaml"
    path.write_text(yaml.safe_dump(config))
    run_module("vall_e.train", "--yaml", str(path), "--data", str(tiny_run.data), "--quiet")
    after = load_checkpoint(tmp_path / "run" / "latest")
    source = load_checkpoint(tiny_run.checkpoint)
    assert after.step == 2  # a new run: its own step count
    # a learning rate of 1e-12 leaves the copied weights where they were
    for name, value in after.model.state_dict().items():
        assert torch.allclose(value, source.model.state_dict()[name], atol=1e-6), name


def test_a_quantized_checkpoint_starts_the_run_from_its_dequantized_weights(tiny_run, tmp_path):
    from vall_e.quantize import QuantSpec, quantize_checkpoint
    from vall_e.quantize.dequantize import dequantize_model

    int8 = quantize_checkpoint(tiny_run.checkpoint, tmp_path / "int8", QuantSpec(8, 0)).path
    source = load_checkpoint(int8)
    dequantize_model(source.model)
    model, _ = initial_model(int8, _config(tiny_run), source.codec_info, tmp_path / "run")
    theirs = source.model.state_dict()
    assert set(model.state_dict()) == set(theirs)
    assert all(torch.equal(value, theirs[name]) for name, value in model.state_dict().items())
