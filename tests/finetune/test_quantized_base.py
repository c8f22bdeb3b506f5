"""Fine-tuning a quantized base (the embedded default ships int8): every method trains the
base's dequantized weights, and the result applies to, or merges into, that same base."""
import json
import shutil

import pytest
import torch

from tests.finetune.conftest import run_recipe
from vall_e.finetune.merge import merge_lora
from vall_e.inference.loader import load_engine
from vall_e.models.checkpoint import load_checkpoint
from vall_e.quantize import QuantSpec, quantize_checkpoint
from vall_e.quantize.dequantize import dequantize_model, quantized_module_names
from vall_e.sampling import SamplingParams

STEPS = 6


@pytest.fixture(scope="module")
def int8_base(tiny_run, tiny_codec_dir, tmp_path_factory):
    """Shaped like the shipped default: int8, with its codec inside (``codec.path: codec``)."""
    base = quantize_checkpoint(tiny_run.checkpoint, tmp_path_factory.mktemp("int8") / "base",
                               QuantSpec(8, 0)).path
    shutil.copytree(tiny_codec_dir, base / "codec")
    meta = json.loads((base / "vall_e.json").read_text())
    meta["config"]["codec"]["path"] = "codec"
    (base / "vall_e.json").write_text(json.dumps(meta))
    return base


@pytest.fixture(scope="module")
def int8_lora(int8_base, speaker_corpus, tmp_path_factory) -> dict:
    return run_recipe("lora_ar_nar", int8_base, speaker_corpus,
                      tmp_path_factory.mktemp("int8_lora") / "run", steps=STEPS)


def level0_logits(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 20, model.config.d_model, generator=g)
    args = (torch.arange(20)[None], torch.ones(1, 20, dtype=torch.bool), True)
    with torch.no_grad():
        return model.level_logits(model.hidden_states(x, *args), 0)


def test_lora_trains_on_a_quantized_base_and_applies_to_it(int8_lora, int8_base, reference_wav):
    assert int8_lora["steps"] == STEPS and int8_lora["trainable_parameters"] > 0
    engine = load_engine(int8_base, "cpu", lora=int8_lora["artifact"])
    assert quantized_module_names(engine.model) == []  # merged into the float weights
    plain = load_checkpoint(int8_base).model
    dequantize_model(plain)
    assert (level0_logits(engine.model) - level0_logits(plain)).abs().max() > 1e-4
    result = engine.tts("Hello there.", reference_wav, SamplingParams(ar_temp=0.0, nar_temp=0.0))
    assert result.audio.numel() > 0 and torch.isfinite(result.audio).all()


def test_merging_into_a_quantized_base_gives_the_adapter_on_model(int8_lora, int8_base, tmp_path,
                                                                   reference_wav):
    merged_dir = merge_lora(int8_base, int8_lora["artifact"], tmp_path / "merged")
    merged = load_checkpoint(merged_dir).model
    assert quantized_module_names(merged) == []
    engine = load_engine(int8_base, "cpu", lora=int8_lora["artifact"])
    assert torch.allclose(level0_logits(merged), level0_logits(engine.model), atol=1e-4)
    # the base's inner codec comes along: the merged checkpoint opens on its own
    assert (merged_dir / "codec" / "config.json").is_file()
    result = load_engine(merged_dir, "cpu").tts("Hello.", reference_wav, SamplingParams(ar_temp=0.0))
    assert result.audio.numel() > 0


def test_full_fine_tune_of_a_quantized_base_trains_every_weight(int8_base, tiny_run,
                                                                speaker_corpus, tmp_path):
    from vall_e.finetune.base import load_base
    from vall_e.finetune.config import FullSettings
    from vall_e.finetune.full import prepare_full

    report = run_recipe("full", int8_base, speaker_corpus, tmp_path / "full", steps=2)
    # what the recipe (first block frozen) trains on the float base it was quantized from;
    # on the int8 base without dequantizing, only the norms and embeddings would train
    on_float = prepare_full(load_base(tiny_run.checkpoint), FullSettings(freeze_layers=1))
    assert report["trainable_parameters"] == sum(
        p.numel() for p in on_float.parameters() if p.requires_grad)
    tuned = load_checkpoint(report["artifact"]).model
    assert quantized_module_names(tuned) == []
