"""Quantize -> save -> load -> generate, for both families and every mode; and the refusals."""
import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from vall_e.errors import CheckpointError, ConfigError
from vall_e.inference.loader import load_engine
from vall_e.models.checkpoint import load_checkpoint
from vall_e.quantize import QuantSpec, quantize_checkpoint
from vall_e.quantize.checkpoint import MANIFEST_FILE, read_manifest
from vall_e.quantize.modules import DynamicInt8Linear, QuantEmbedding, QuantLinear
from vall_e.sampling import SamplingParams

GREEDY = SamplingParams(ar_temp=0.0, nar_temp=0.0, seed=0)
MODES = {
    "int8": QuantSpec(8, 0),
    "int4": QuantSpec(4, 32),
    "dynamic": QuantSpec(8, 0, "dynamic"),
    "int4-all": QuantSpec(4, 32, quantize_embeddings=True),
    "int8-groups-float-head": QuantSpec(8, 16, quantize_head=False),
}
QUANTIZED = (QuantLinear, DynamicInt8Linear, QuantEmbedding)


@pytest.fixture(scope="module")
def quantized(random_checkpoints, tmp_path_factory):
    root = tmp_path_factory.mktemp("quantized")
    return {(family, mode): quantize_checkpoint(random_checkpoints[family],
                                                root / f"{family}-{mode}", spec)
            for family in random_checkpoints for mode, spec in MODES.items()}


@pytest.mark.parametrize("family", ["ar_nar", "llm"])
@pytest.mark.parametrize("mode", list(MODES))
def test_quantized_checkpoint_loads_and_generates(quantized, family, mode, reference_wav):
    report = quantized[family, mode]
    engine = load_engine(report.path, "cpu")
    model = engine.model
    kinds = {type(m) for m in model.modules() if isinstance(m, QUANTIZED)}
    expected = {DynamicInt8Linear} if mode == "dynamic" else {QuantLinear}
    if mode == "int4-all":
        expected = {QuantLinear, QuantEmbedding}
    assert kinds == expected
    heads = [m for n, m in model.named_modules() if n.endswith(("lm_head", "heads.0"))]
    assert isinstance(heads[0], torch.nn.Linear) == (mode == "int8-groups-float-head")
    result = engine.tts("Hello there.", reference_wav, GREEDY)
    assert result.audio.numel() > 0 and torch.isfinite(result.audio).all()
    assert report.disk_bytes < report.source_disk_bytes or family == "llm"


@pytest.mark.parametrize("mode", ["int8", "int4", "int8-groups-float-head"])
def test_loaded_weights_are_within_the_quantization_error_of_the_originals(
        quantized, random_checkpoints, mode):
    original = dict(load_checkpoint(random_checkpoints["ar_nar"]).model.named_modules())
    loaded = load_checkpoint(quantized["ar_nar", mode].path).model
    checked = 0
    for name, module in loaded.named_modules():
        if isinstance(module, QuantLinear):
            from vall_e.quantize.qtensor import max_error

            q = module.quantized()
            error = (module.dequantized_weight() - original[name].weight).abs()
            bound = max_error(q).repeat_interleave(q.group_size, dim=1)
            assert (error <= bound + 1e-7).all(), name
            checked += 1
    assert checked == len(loaded.blocks) * 5 + (0 if "float-head" in mode else 3)


def test_int8_logits_stay_close_to_float(quantized, random_checkpoints):
    float_model = load_checkpoint(random_checkpoints["ar_nar"]).model
    int8_model = load_checkpoint(quantized["ar_nar", "int8"].path).model
    x = torch.randn(1, 40, float_model.config.d_model)
    args = (torch.arange(40)[None], torch.ones(1, 40, dtype=torch.bool), True)
    with torch.inference_mode():
        ref = float_model.level_logits(float_model.hidden_states(x, *args), 0)
        got = int8_model.level_logits(int8_model.hidden_states(x, *args), 0)
    assert (got - ref).norm() / ref.norm() < 0.02


def test_manifest_records_modules_sizes_and_layers_kept_in_float(quantized, tmp_path, random_checkpoints):
    manifest = read_manifest(quantized["ar_nar", "int4"].path)
    assert manifest["family"] == "ar_nar" and manifest["spec"]["bits"] == 4
    assert manifest["modules"]["blocks.0.attn.qkv"] == {
        "kind": "linear", "shape": [96, 32], "bits": 4, "group_size": 32}
    # a group size that fits no d_model=32 layer: they stay float and the report says so
    report = quantize_checkpoint(random_checkpoints["ar_nar"], tmp_path / "q",
                                 QuantSpec(8, 64, quantize_head=True))
    assert "blocks.0.attn.qkv" in report.kept_float and "blocks.0.mlp.down" in read_manifest(
        report.path)["modules"]


def _copy(report, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(report.path, target)
    return target


def test_a_corrupt_weights_file_is_one_line(quantized, tmp_path):
    target = _copy(quantized["ar_nar", "int8"], tmp_path)
    weights = target / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="is corrupt"):
        load_engine(target, "cpu")


def test_a_manifest_from_another_run_is_refused(quantized, tmp_path):
    target = _copy(quantized["llm", "int8"], tmp_path)
    shutil.copy(quantized["llm", "int4"].path / MANIFEST_FILE, target / MANIFEST_FILE)
    with pytest.raises(CheckpointError, match="different quantization runs"):
        load_engine(target, "cpu")


def test_an_edited_manifest_is_refused(quantized, tmp_path):
    target = _copy(quantized["ar_nar", "int8"], tmp_path)
    manifest = json.loads((target / MANIFEST_FILE).read_text())
    manifest["modules"]["blocks.0.attn.qkv"]["group_size"] = 16
    (target / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="edited after it was written"):
        load_engine(target, "cpu")


def test_weights_of_the_wrong_shape_are_refused(quantized, tmp_path):
    target = _copy(quantized["ar_nar", "int4"], tmp_path)
    weights = target / "model.safetensors"
    state = load_file(str(weights))
    state["blocks.1.mlp.up.scales"] = state["blocks.1.mlp.up.scales"][:, :0]
    from safetensors import safe_open

    with safe_open(str(quantized["ar_nar", "int4"].path / "model.safetensors"), "pt") as handle:
        metadata = handle.metadata()
    save_file(state, str(weights), metadata=metadata)
    with pytest.raises(CheckpointError, match=r"does not match quantization.json: blocks.1.mlp.up.scales"):
        load_engine(target, "cpu")


def test_manifest_for_another_model_is_refused(quantized, tmp_path):
    target = _copy(quantized["ar_nar", "int8"], tmp_path)
    shutil.copy(quantized["llm", "int8"].path / "model.safetensors", target / "model.safetensors")
    shutil.copy(quantized["llm", "int8"].path / MANIFEST_FILE, target / MANIFEST_FILE)
    with pytest.raises(CheckpointError, match="does not fit the model"):
        load_engine(target, "cpu")


def test_bad_options_and_sources_are_refused(quantized, random_checkpoints, tmp_path):
    with pytest.raises(CheckpointError, match="already quantized"):
        quantize_checkpoint(quantized["ar_nar", "int8"].path, tmp_path / "x", QuantSpec(4, 32))
    with pytest.raises(ConfigError, match="--dynamic is int8"):
        quantize_checkpoint(random_checkpoints["llm"], tmp_path / "x", QuantSpec(4, 32, "dynamic"))
    with pytest.raises(ConfigError, match="--bits must be 8 or 4"):
        QuantSpec(bits=2).validate()
    with pytest.raises(CheckpointError, match="--out must differ"):
        quantize_checkpoint(random_checkpoints["llm"], random_checkpoints["llm"], QuantSpec())
