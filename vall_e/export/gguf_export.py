"""GGUF export of an LLM-TTS checkpoint (a Llama over a token layout), and its verification.

The file follows llama.cpp's ``llama`` architecture: its tensor names (through gguf's own
name map), its hyperparameter keys, and its rotary convention, which pairs dimensions
(2i, 2i+1) where Hugging Face pairs (i, i + d/2): the q/k projections are permuted as
llama.cpp's converter does. 1-D tensors (norms) stay float32; matrices take the chosen dtype.

What makes it a TTS model travels as metadata: the vocabulary (``tokenizer.ggml.tokens``,
one name per id: the layout's control ids, the text units, ``<audio_{slot}_{code}>`` for
audio ids), the bos/eos/pad ids, and under ``vall_e.*`` the layout (audio offset, codebook
size, slots per frame and their codec levels, stop ids), the codec identity, and the whole
``vall_e.json`` so a checkpoint can be rebuilt from the file.

``verify_gguf`` reads the file back and compares every tensor (permutation undone, both sides
in the stored dtype) and the layout metadata with the checkpoint; it raises on any difference.
Not verified here: running the file in llama.cpp (not installed on this machine).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from vall_e.errors import CheckpointError

ARCH = "llama"
_GGUF_TYPES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}


def import_gguf():
    try:
        import gguf
    except ImportError:
        raise CheckpointError("GGUF export needs the gguf package: pip install -e \".[export]\"") from None
    return gguf


def _rope_permute(weight: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Hugging Face's half-split rotary layout -> llama.cpp's interleaved one, per head."""
    rows = weight.shape[0]
    return (weight.reshape(n_heads, 2, rows // n_heads // 2, *weight.shape[1:])
            .transpose(1, 2).reshape(weight.shape))


def _rope_unpermute(weight: torch.Tensor, n_heads: int) -> torch.Tensor:
    rows = weight.shape[0]
    return (weight.reshape(n_heads, rows // n_heads // 2, 2, *weight.shape[1:])
            .transpose(1, 2).reshape(weight.shape))


def _token_table(layout, vocab_size: int) -> tuple[list[str], list[int]]:
    """A name and a llama.cpp token type for every id of the LM's vocabulary."""
    gguf = import_gguf()
    kinds = gguf.TokenType
    names, types = [], []
    hf_tokenizer = getattr(layout, "tokenizer", None)
    hf_count = len(hf_tokenizer) if hf_tokenizer is not None else 0
    text_vocab = getattr(layout, "text_vocab", None)
    specials = {getattr(layout, n): n.lower() for n in dir(type(layout))
                if n.isupper() and not n.startswith("N_") and isinstance(getattr(layout, n), int)}
    for token in range(vocab_size):
        slot = layout.slot_of(token)
        if slot is not None:
            code = token - layout.audio_offset - slot * layout.codebook_size
            names.append(f"<audio_{slot}_{code}>")
            types.append(kinds.USER_DEFINED)
        elif token < hf_count:
            names.append(hf_tokenizer.convert_ids_to_tokens(token))
            types.append(kinds.CONTROL if token in hf_tokenizer.all_special_ids else kinds.NORMAL)
        elif token in specials:
            names.append(f"<{specials[token]}>")
            types.append(kinds.CONTROL)
        elif text_vocab is not None and token - layout.N_SPECIAL < len(text_vocab):
            names.append(text_vocab.vocab[token - layout.N_SPECIAL])
            types.append(kinds.NORMAL)
        else:
            names.append(f"<unused_{token}>")
            types.append(kinds.UNUSED)
    # names must be unique for llama.cpp; a phoneme could equal a control name only by accident
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            names[index] = f"{name}#{index}"
        seen[names[index]] = index
    return names, [int(t) for t in types]


def _hparams(config) -> dict:
    rope = dict(getattr(config, "rope_parameters", None) or {})
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    return {
        "context_length": config.max_position_embeddings,
        "embedding_length": config.hidden_size,
        "block_count": config.num_hidden_layers,
        "feed_forward_length": config.intermediate_size,
        "head_count": config.num_attention_heads,
        "head_count_kv": config.num_key_value_heads,
        "rope_freq_base": float(rope.get("rope_theta", getattr(config, "rope_theta", 10000.0))),
        "rope_dimension_count": head_dim,
        "layer_norm_rms_eps": float(config.rms_norm_eps),
        "vocab_size": config.vocab_size,
        "rope_parameters": rope,
    }


def gguf_tensors(lm, dtype: str) -> dict[str, tuple[torch.Tensor, str]]:
    """GGUF name -> (tensor as stored, HF name) for every weight of the causal LM."""
    gguf = import_gguf()
    config = lm.config
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    state = lm.state_dict()
    tied = "lm_head.weight" in state and (
        state["lm_head.weight"].data_ptr() == state["model.embed_tokens.weight"].data_ptr())
    out = {}
    for hf_name, tensor in state.items():
        if tied and hf_name == "lm_head.weight":
            continue  # llama.cpp reuses token_embd when output.weight is absent
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise CheckpointError(f"GGUF export: no llama.cpp name for tensor {hf_name}")
        tensor = tensor.detach().cpu()
        if hf_name.endswith("q_proj.weight"):
            tensor = _rope_permute(tensor, config.num_attention_heads)
        elif hf_name.endswith("k_proj.weight"):
            tensor = _rope_permute(tensor, config.num_key_value_heads)
        stored = "float32" if tensor.dim() == 1 else dtype
        out[name] = (tensor.to(torch.float32 if stored == "float32" else getattr(torch, stored)),
                     hf_name)
    return out


def _numpy(tensor: torch.Tensor, gguf):
    """(array, raw GGML type or None) for the writer."""
    if tensor.dtype == torch.bfloat16:
        # numpy has no bfloat16: hand the writer the raw 16-bit patterns
        raw = tensor.contiguous().view(torch.int16).numpy().view(np.uint8)
        return raw.reshape(*tensor.shape[:-1], tensor.shape[-1] * 2), gguf.GGMLQuantizationType.BF16
    return tensor.contiguous().numpy(), None


def _load(source: Path):
    from vall_e.checkpoint_format import META_FILE
    from vall_e.models.llm_checkpoint import load_llm_checkpoint

    meta_path = source / META_FILE
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    return load_llm_checkpoint(source, "cpu"), meta


def export_gguf(source: str | Path, out: str | Path, dtype: str = "float16") -> Path:
    """Write the LLM-TTS checkpoint ``source`` as one GGUF file ``out``."""
    gguf = import_gguf()
    source, out = Path(source), Path(out)
    if dtype not in _GGUF_TYPES:
        raise CheckpointError(f"--dtype for GGUF must be one of {sorted(_GGUF_TYPES)}, got {dtype!r}")
    from vall_e.export.safetensors_export import check_float_source

    check_float_source(source)
    loaded, meta = _load(source)
    lm, layout = loaded.model.lm, loaded.model.layout
    hp = _hparams(lm.config)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    writer = gguf.GGUFWriter(str(partial), ARCH)
    writer.add_name(source.name)
    writer.add_context_length(hp["context_length"])
    writer.add_embedding_length(hp["embedding_length"])
    writer.add_block_count(hp["block_count"])
    writer.add_feed_forward_length(hp["feed_forward_length"])
    writer.add_head_count(hp["head_count"])
    writer.add_head_count_kv(hp["head_count_kv"])
    writer.add_rope_freq_base(hp["rope_freq_base"])
    writer.add_rope_dimension_count(hp["rope_dimension_count"])
    writer.add_layer_norm_rms_eps(hp["layer_norm_rms_eps"])
    writer.add_vocab_size(hp["vocab_size"])
    tokens, types = _token_table(layout, hp["vocab_size"])
    writer.add_tokenizer_model("none")  # ids come from vall_e's layout, not a text tokenizer
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_pad_token_id(layout.pad_id)
    writer.add_eos_token_id(layout.stop_id)
    if getattr(layout, "BOS", None) is not None:
        writer.add_bos_token_id(layout.BOS)
    for key, value in _layout_metadata(loaded, meta, hp).items():
        writer.add_string(key, value) if isinstance(value, str) else writer.add_array(key, value)
    for name, (tensor, _) in gguf_tensors(lm, dtype).items():
        array, raw = _numpy(tensor, gguf)
        writer.add_tensor(name, array, raw_dtype=raw)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(out)  # never a half-written file under the final name
    return out


def _layout_metadata(loaded, meta: dict, hp: dict) -> dict:
    layout = loaded.model.layout
    return {
        "vall_e.layout": json.dumps(layout.to_dict()),
        "vall_e.codec": json.dumps(loaded.codec_info.to_dict()),
        "vall_e.audio_offset": [layout.audio_offset],
        "vall_e.codebook_size": [layout.codebook_size],
        "vall_e.slot_levels": list(layout.slot_levels),
        "vall_e.stop_ids": list(layout.stop_ids),
        "vall_e.voices": list(loaded.voices) or [""],
        "vall_e.rope_parameters": json.dumps(hp["rope_parameters"]),
        "vall_e.checkpoint": json.dumps(meta),
    }


def _field(reader, key: str):
    field = reader.fields.get(key)
    return None if field is None else field.contents()


def verify_gguf(path: str | Path, source: str | Path) -> int:
    """Compare the GGUF file with the checkpoint it came from; returns the tensors compared."""
    gguf = import_gguf()
    from gguf import quants

    reader = gguf.GGUFReader(str(path))
    loaded, _ = _load(Path(source))
    lm, layout = loaded.model.lm, loaded.model.layout
    found = {t.name: t for t in reader.tensors}
    dtype = {v: k for k, v in _GGUF_TYPES.items()}
    expected = None
    for tensor in reader.tensors:
        if len(tensor.shape) > 1:
            expected = gguf_tensors(lm, dtype[tensor.tensor_type.name])
            break
    if expected is None or set(found) != set(expected):
        raise CheckpointError(f"{path}: its tensors are not the checkpoint's")
    state, config = lm.state_dict(), lm.config
    for name, (stored, hf_name) in expected.items():
        got = torch.from_numpy(np.array(quants.dequantize(found[name].data, found[name].tensor_type)))
        if hf_name.endswith("q_proj.weight"):
            got = _rope_unpermute(got, config.num_attention_heads)
        elif hf_name.endswith("k_proj.weight"):
            got = _rope_unpermute(got, config.num_key_value_heads)
        want = state[hf_name].detach().cpu().to(stored.dtype).float()
        if tuple(got.shape) != tuple(want.shape) or not torch.equal(got.float(), want):
            raise CheckpointError(f"{path}: tensor {name} ({hf_name}) differs from the checkpoint")
    checks = {"vall_e.layout": json.dumps(layout.to_dict()),
              "vall_e.audio_offset": [layout.audio_offset],
              "vall_e.slot_levels": list(layout.slot_levels),
              "general.architecture": ARCH}
    for key, want in checks.items():
        if _field(reader, key) != want:
            raise CheckpointError(f"{path}: metadata {key} differs from the checkpoint")
    if len(_field(reader, "tokenizer.ggml.tokens")) != lm.config.vocab_size:
        raise CheckpointError(f"{path}: the token list does not cover the vocabulary")
    return len(expected)
