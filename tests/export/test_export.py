"""`python -m vall_e.export`: safetensors in another dtype, GGUF written, read back, compared."""
import sys

import pytest
import torch
from safetensors import safe_open

from vall_e.cli.common import run_main
from vall_e.cli.export import main
from vall_e.errors import CheckpointError
from vall_e.export import export_gguf, export_safetensors, verify_gguf
from vall_e.export.gguf_export import _rope_permute, _rope_unpermute
from vall_e.inference.loader import load_engine
from vall_e.models.llm_checkpoint import load_llm_checkpoint
from vall_e.sampling import SamplingParams

pytestmark = pytest.mark.slow  # each test loads, converts, writes and reloads whole checkpoints

gguf = pytest.importorskip("gguf")


@pytest.mark.parametrize("family", ["ar_nar", "llm"])
def test_safetensors_export_in_bfloat16_loads_like_any_checkpoint(random_checkpoints, reference_wav,
                                                                  tmp_path, family):
    out = export_safetensors(random_checkpoints[family], tmp_path / "bf16", "bfloat16")
    with safe_open(str(out / "model.safetensors"), "pt") as handle:
        dtypes = {handle.get_tensor(k).dtype for k in handle.keys()}
    assert dtypes == {torch.bfloat16}
    source = load_engine(random_checkpoints[family], "cpu").model.state_dict()
    engine = load_engine(out, "cpu")
    for key, value in engine.model.state_dict().items():
        if value.is_floating_point() and key in source:
            assert torch.equal(value, source[key].to(torch.bfloat16).float()), key
    assert engine.tts("Hi.", reference_wav, SamplingParams(ar_temp=0.0, nar_temp=0.0)).audio.numel()


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_gguf_round_trip_compares_every_tensor(random_checkpoints, tmp_path, dtype):
    path = export_gguf(random_checkpoints["llm"], tmp_path / "model.gguf", dtype)
    lm = load_llm_checkpoint(random_checkpoints["llm"]).model.lm
    tied = 1 if lm.config.tie_word_embeddings else 0
    assert verify_gguf(path, random_checkpoints["llm"]) == len(lm.state_dict()) - tied
    reader = gguf.GGUFReader(str(path))
    fields = reader.fields
    assert fields["general.architecture"].contents() == "llama"
    assert fields["llama.block_count"].contents() == lm.config.num_hidden_layers
    tokens = fields["tokenizer.ggml.tokens"].contents()
    assert len(tokens) == lm.config.vocab_size and tokens[:2] == ["<pad>", "<bos>"]
    layout = load_llm_checkpoint(random_checkpoints["llm"]).model.layout
    assert tokens[layout.audio_offset + 1024 + 5] == "<audio_1_5>"
    assert fields["vall_e.slot_levels"].contents() == [0, 1]
    assert '"name": "flat"' in fields["vall_e.layout"].contents()


def test_gguf_verification_catches_a_changed_tensor(random_checkpoints, tmp_path):
    path = export_gguf(random_checkpoints["llm"], tmp_path / "model.gguf", "float32")
    tensor = next(t for t in gguf.GGUFReader(str(path)).tensors if t.name == "blk.1.ffn_down.weight")
    data = bytearray(path.read_bytes())
    data[tensor.data_offset + 8] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="blk.1.ffn_down.weight"):
        verify_gguf(path, random_checkpoints["llm"])


def test_rope_permutation_turns_half_split_rotary_into_interleaved_rotary():
    """What llama.cpp computes on the permuted weights equals what transformers computes on
    the original ones: the attention scores of rotated q and k agree."""
    torch.manual_seed(0)
    heads, head_dim, d, position = 2, 8, 16, 5
    wq, wk, x = torch.randn(heads * head_dim, d), torch.randn(heads * head_dim, d), torch.randn(d)
    freqs = 1.0 / 10000 ** (torch.arange(0, head_dim, 2).float() / head_dim)
    cos, sin = torch.cos(position * freqs), torch.sin(position * freqs)

    def half_split(v):  # transformers: pairs (i, i + d/2)
        a, b = v[..., : head_dim // 2], v[..., head_dim // 2:]
        return torch.cat([a * cos - b * sin, a * sin + b * cos], -1)

    def interleaved(v):  # llama.cpp: pairs (2i, 2i + 1)
        a, b = v[..., 0::2], v[..., 1::2]
        return torch.stack([a * cos - b * sin, a * sin + b * cos], -1).flatten(-2)

    hf = (half_split((wq @ x).view(heads, head_dim)) * half_split((wk @ x).view(heads, head_dim))).sum(-1)
    cpp = (interleaved((_rope_permute(wq, heads) @ x).view(heads, head_dim))
           * interleaved((_rope_permute(wk, heads) @ x).view(heads, head_dim))).sum(-1)
    assert torch.allclose(hf, cpp, atol=1e-4)
    assert torch.equal(_rope_unpermute(_rope_permute(wq, heads), heads), wq)


def test_export_cli_and_its_refusals(random_checkpoints, tmp_path, capsys):
    code = run_main(main, ["--model", str(random_checkpoints["llm"]), "--out",
                           str(tmp_path / "m.gguf"), "--format", "gguf"])
    err = capsys.readouterr().err
    assert code == 0 and "float16" in err and "tensors equal to the checkpoint's" in err
    code = run_main(main, ["--model", str(random_checkpoints["ar_nar"]), "--out",
                           str(tmp_path / "a.gguf"), "--format", "gguf"])
    assert code == 2 and "export AR+NAR models as safetensors" in capsys.readouterr().err


def test_gguf_refuses_a_quantized_source_and_names_the_float_copy(random_checkpoints, tmp_path):
    from vall_e.quantize import QuantSpec, quantize_checkpoint

    quantized = quantize_checkpoint(random_checkpoints["llm"], tmp_path / "q", QuantSpec()).path
    with pytest.raises(CheckpointError, match="is quantized.*--dtype float32"):
        export_gguf(quantized, tmp_path / "q.gguf")


@pytest.mark.parametrize("family", ["ar_nar", "llm"])
def test_a_quantized_source_exports_its_dequantized_weights(random_checkpoints, reference_wav,
                                                            tmp_path, family):
    from vall_e.quantize import MANIFEST_FILE, QuantSpec, quantize_checkpoint
    from vall_e.quantize.dequantize import dequantize_model, quantized_module_names

    quantized = quantize_checkpoint(random_checkpoints[family], tmp_path / "q", QuantSpec()).path
    out = export_safetensors(quantized, tmp_path / "f32", "float32")
    assert not (out / MANIFEST_FILE).exists()
    expected = load_engine(quantized, "cpu").model
    dequantize_model(expected)
    engine = load_engine(out, "cpu")
    assert quantized_module_names(engine.model) == []
    theirs = expected.state_dict()
    for key, value in engine.model.state_dict().items():
        assert torch.equal(value, theirs[key]), key
    result = engine.tts("Hello there.", reference_wav, SamplingParams(ar_temp=0.0, nar_temp=0.0))
    assert result.audio.numel() > 0


def test_missing_gguf_package_names_the_extra(random_checkpoints, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gguf", None)
    with pytest.raises(CheckpointError, match=r'pip install -e "\.\[export\]"'):
        export_gguf(random_checkpoints["llm"], tmp_path / "m.gguf")
