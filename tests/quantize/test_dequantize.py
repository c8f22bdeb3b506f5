"""dequantize_model: a quantized model becomes the float model of its exact dequantized
weights, one that trains (peft, gradients) and computes what the quantized one computes."""
import pytest
import torch
from torch import nn

from vall_e.models.checkpoint import load_checkpoint
from vall_e.quantize import QuantSpec, quantize_checkpoint
from vall_e.quantize.dequantize import dequantize_model, quantized_module_names

SPECS = {"int8": QuantSpec(8, 0), "int4": QuantSpec(4, 32), "dynamic": QuantSpec(8, 0, "dynamic"),
         "int4-all": QuantSpec(4, 32, quantize_embeddings=True)}


def level0_logits(model, x):
    length = x.shape[1]
    args = (torch.arange(length)[None], torch.ones(1, length, dtype=torch.bool), True)
    with torch.no_grad():
        return model.level_logits(model.hidden_states(x, *args), 0)


@pytest.mark.parametrize("mode", list(SPECS))
def test_every_quantized_layer_becomes_its_float_layer(random_checkpoints, tmp_path, mode):
    report = quantize_checkpoint(random_checkpoints["ar_nar"], tmp_path / mode, SPECS[mode])
    model = load_checkpoint(report.path).model
    names = quantized_module_names(model)
    expected = {name: model.get_submodule(name).dequantized_weight() for name in names}
    x = torch.randn(1, 30, model.config.d_model)
    before = level0_logits(model, x)

    assert dequantize_model(model) == len(names) > 0
    assert quantized_module_names(model) == []
    for name, weight in expected.items():
        layer = model.get_submodule(name)
        assert type(layer) in (nn.Linear, nn.Embedding) and layer.weight.requires_grad
        assert torch.equal(layer.weight.detach(), weight), name
    after = level0_logits(model, x)
    # the weight-only kernels run bfloat16 activations, the dynamic one int8 activations;
    # the float layers run float32 on the same weights
    tolerance = 0.06 if mode == "dynamic" else 0.02
    assert (after - before).norm() / before.norm() < tolerance


def test_a_float_model_is_left_alone(random_checkpoints):
    model = load_checkpoint(random_checkpoints["ar_nar"]).model
    state = {k: v.clone() for k, v in model.state_dict().items()}
    assert dequantize_model(model) == 0
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def test_the_llm_family_dequantizes_too(random_checkpoints, tmp_path):
    from vall_e.models.llm_checkpoint import load_llm_checkpoint

    report = quantize_checkpoint(random_checkpoints["llm"], tmp_path / "q", SPECS["int8"])
    model = load_llm_checkpoint(report.path, "cpu").model
    assert quantized_module_names(model)
    ids = torch.randint(0, 50, (1, 12))
    with torch.no_grad():
        before = model.lm(ids).logits
        dequantize_model(model)
        after = model.lm(ids).logits
    assert quantized_module_names(model) == []
    assert (after - before).norm() / before.norm() < 0.02
