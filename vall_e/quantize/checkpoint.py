"""The offline rewrite: a float checkpoint -> a quantized checkpoint directory (the float
checkpoint's files + quantized weights + ``quantization.json``); the load-time half is
``quantize.runtime``.

``quantize_checkpoint(src, out, spec)`` loads a float checkpoint of either family, quantizes it (``convert.quantize_model``) and writes a directory that looks like
the source (same config, vocabulary, layout and tokenizer files, so the CLI, the Interface and
the loader open it with ``--model OUT`` like any other) except that ``model.safetensors`` holds
``qweight``/``scales``/``zeros`` for the quantized modules, and ``quantization.json`` (the
manifest) says which modules those are, with a digest also stored in the weights' metadata.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file

from vall_e.atomic import staged_directory
from vall_e.errors import CheckpointError
from vall_e.models.integrity import checksum_metadata
from vall_e.quantize.convert import QuantSpec, quantize_model
from vall_e.quantize.runtime import (  # noqa: F401  (is_quantized, read_manifest: for callers)
    FORMAT,
    MANIFEST_FILE,
    VERSION,
    WEIGHTS_FILE,
    is_quantized,
    manifest_digest,
    read_manifest,
)

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".safetensors.index.json",
                    ".bin.index.json", ".gguf")


@dataclass
class QuantizeReport:
    path: Path
    family: str
    spec: QuantSpec
    n_modules: int
    kept_float: dict  # selected modules the group size does not fit: name -> why
    source_disk_bytes: int
    disk_bytes: int
    source_memory_bytes: int
    memory_bytes: int


def model_bytes(model: torch.nn.Module) -> int:
    """Bytes of every parameter and buffer, plus what quantized kernels derived from them."""
    seen, total = set(), 0
    for tensor in list(model.parameters()) + list(model.buffers()):
        if tensor.data_ptr() not in seen:
            seen.add(tensor.data_ptr())
            total += tensor.numel() * tensor.element_size()
    return total + sum(getattr(m, "kernel_bytes", lambda: 0)() for m in model.modules())


def weights_disk_bytes(directory: str | Path) -> int:
    return sum(p.stat().st_size for p in Path(directory).iterdir()
               if p.is_file() and p.name.endswith(_WEIGHT_SUFFIXES))


def _float_model(source: Path):
    """(family, the module whose state dict is the checkpoint's weights, a keep-alive object)."""
    from vall_e.checkpoint import load_checkpoint, weights_module

    loaded = load_checkpoint(source, "cpu")
    return loaded.family, weights_module(loaded), loaded


def _state_without_aliases(module: torch.nn.Module) -> tuple[dict, dict]:
    """The state dict with tied tensors stored once (safetensors refuses shared storage), and
    alias -> stored key for the rest."""
    state, aliases, by_pointer = {}, {}, {}
    for key, tensor in module.state_dict().items():
        pointer = (tensor.data_ptr(), tuple(tensor.shape), tensor.dtype)
        if tensor.numel() and pointer in by_pointer:
            aliases[key] = by_pointer[pointer]
            continue
        by_pointer[pointer] = key
        state[key] = tensor.detach().cpu().contiguous()
    return state, aliases


def quantize_checkpoint(source: str | Path, out: str | Path, spec: QuantSpec) -> QuantizeReport:
    """Write a quantized copy of the float checkpoint ``source`` to ``out``."""
    source, out = Path(source), Path(out)
    spec.validate()
    if is_quantized(source):
        raise CheckpointError(f"{source} is already quantized ({MANIFEST_FILE}); quantize the "
                              "float checkpoint it was made from, or its dequantized copy: "
                              f"python -m vall_e.export --model {source} --out DIR --dtype float32")
    if out.resolve() == source.resolve():
        raise CheckpointError("--out must differ from --model: the float checkpoint is the source")
    family, module, _ = _float_model(source)
    source_memory = model_bytes(module)
    modules, kept_float = quantize_model(module, spec)
    if not modules:
        raise CheckpointError("nothing to quantize with these options: no layer selected, or "
                              "the group size fits none of them (try --group-size 0)")
    state, aliases = _state_without_aliases(module)
    manifest = {"format": FORMAT, "version": VERSION, "family": family, "spec": spec.to_dict(),
                "modules": modules, "kept_float": kept_float, "aliases": aliases,
                "digest": manifest_digest(spec.mode, modules)}
    with staged_directory(out) as staging:
        for item in source.iterdir():
            if item.name.endswith(_WEIGHT_SUFFIXES) or item.name == MANIFEST_FILE:
                continue
            copy = shutil.copytree if item.is_dir() else shutil.copy2
            copy(item, staging / item.name)
        save_file(state, str(staging / WEIGHTS_FILE),
                  metadata=checksum_metadata(state, {"format": FORMAT, "digest": manifest["digest"]}))
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
    with torch.inference_mode():  # build the kernels' derived tensors to count them honestly
        for m in module.modules():
            if hasattr(m, "_prepare") and m._kernel is None:
                m._prepare()
    return QuantizeReport(out, family, spec, len(modules), kept_float, weights_disk_bytes(source),
                          weights_disk_bytes(out), source_memory, model_bytes(module))
