"""Weights carry a checksum written with them; a flipped bit is one CheckpointError line naming
the file, at load, not NaN logits later (issue 21, items 7 and 9)."""
import shutil
import time

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from vall_e.errors import CheckpointError
from vall_e.models.checkpoint import load_checkpoint
from vall_e.models.integrity import CHECKSUM_KEY, tensors_checksum, verify_state
from tests.models.test_checkpoint import make


def flip_a_bit(weights, bit=0x04):
    data = bytearray(weights.read_bytes())
    header = int.from_bytes(data[:8], "little")
    middle = 8 + header + (len(data) - 8 - header) // 2
    data[middle] ^= bit
    weights.write_bytes(bytes(data))


def metadata(weights):
    with safe_open(str(weights), framework="pt") as handle:
        return handle.metadata() or {}


def test_a_new_checkpoint_stores_its_checksum_and_loads(tmp_path):
    path, _ = make(tmp_path)
    stored = metadata(path / "model.safetensors")[CHECKSUM_KEY]
    assert stored == tensors_checksum(load_file(str(path / "model.safetensors")))
    load_checkpoint(path)


def test_a_flipped_bit_is_one_line_naming_the_file(tmp_path):
    path, _ = make(tmp_path)
    flip_a_bit(path / "model.safetensors")
    with pytest.raises(CheckpointError, match="model.safetensors is corrupt.*checksum") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


def test_without_a_checksum_it_loads_and_nan_is_still_caught(tmp_path):
    path, _ = make(tmp_path)
    weights = path / "model.safetensors"
    state = load_file(str(weights))
    save_file(state, str(weights), metadata={"format": "vall_e.checkpoint"})  # as the shipped default
    load_checkpoint(path)  # absent checksum: not verified, not an error
    key = next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 1)
    state[key].view(-1)[0] = float("nan")
    save_file(state, str(weights), metadata={"format": "vall_e.checkpoint"})
    with pytest.raises(CheckpointError, match=f"{key} holds NaN"):
        load_checkpoint(path)


def test_the_checksum_is_fast_enough_to_stay_on():
    state = {f"w{i}": torch.randn(1024, 1024) for i in range(4)}  # 16 MB, the default's size
    started = time.perf_counter()
    verify_state(state, {CHECKSUM_KEY: tensors_checksum(state)}, "w.safetensors")
    assert time.perf_counter() - started < 2.0  # ~0.1 s on one core


def test_quantized_checkpoints_carry_and_check_it(random_checkpoints, tmp_path):
    from vall_e.quantize.checkpoint import quantize_checkpoint
    from vall_e.quantize.convert import QuantSpec

    out = quantize_checkpoint(random_checkpoints["ar_nar"], tmp_path / "q8",
                              QuantSpec(bits=8, group_size=0)).path
    assert CHECKSUM_KEY in metadata(out / "model.safetensors")
    load_checkpoint(out)
    flip_a_bit(out / "model.safetensors")
    with pytest.raises(CheckpointError, match="checksum"):
        load_checkpoint(out)


# ----- item 9: pickled weights are never loaded --------------------------------------------
def test_encodec_refuses_a_pickled_bin(tiny_codec_dir, tmp_path):
    from vall_e.codecs import get_codec
    from vall_e.config import CodecConfig

    codec = tmp_path / "encodec"
    shutil.copytree(tiny_codec_dir, codec)
    torch.save(load_file(str(codec / "model.safetensors")), codec / "pytorch_model.bin")
    (codec / "model.safetensors").unlink()
    with pytest.raises(CheckpointError) as info:
        get_codec(CodecConfig(name="encodec", path=str(codec), n_levels=2))
    assert "\n" not in str(info.value)


def test_lora_refuses_a_pickled_adapter(tmp_path, monkeypatch):
    from peft import LoraConfig, get_peft_model

    from vall_e.finetune import lora

    base = torch.nn.Sequential(torch.nn.Linear(4, 4))
    adapter = tmp_path / "adapter"
    peft = get_peft_model(torch.nn.Sequential(torch.nn.Linear(4, 4)),
                          LoraConfig(r=2, target_modules=["0"]))
    peft.save_pretrained(str(adapter), safe_serialization=False)  # adapter_model.bin only
    assert (adapter / "adapter_model.bin").is_file()
    monkeypatch.setattr(lora, "read_adapter", lambda directory: {})
    monkeypatch.setattr(lora, "require_same_base", lambda *a, **k: None)
    with pytest.raises(CheckpointError, match="never a pickled .bin"):
        lora.apply_lora(base, "ar_nar", tmp_path, adapter)


def test_llm_weights_refuse_a_pickled_bin(tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    from vall_e.models.llm_checkpoint import load_lm

    config = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2)
    LlamaForCausalLM(config).save_pretrained(str(tmp_path / "lm"))
    weights = tmp_path / "lm" / "model.safetensors"
    torch.save(load_file(str(weights)), tmp_path / "lm" / "pytorch_model.bin")
    weights.unlink()  # only the pickle is left
    with pytest.raises(CheckpointError, match="does not load"):
        load_lm(tmp_path / "lm")


def test_nan_logits_from_unverified_weights_are_a_user_error():
    # a damaged file without a checksum (older checkpoints) reaches the sampler: one CLI line
    from vall_e.errors import GenerationError
    from vall_e.sampling import SamplingParams, TokenSampler

    sampler = TokenSampler(SamplingParams(), "ar", torch.Generator().manual_seed(0))
    with pytest.raises(GenerationError, match="damaged weights"):
        sampler(torch.full((1, 8), float("nan")), torch.zeros(1, 0, dtype=torch.long))
