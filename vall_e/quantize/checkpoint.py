"""Quantized checkpoint directories: the float checkpoint's files + quantized weights +
``quantization.json``.

``quantize_checkpoint(src, out, spec)`` is the offline rewrite: it loads a float checkpoint of
either family, quantizes it (``convert.quantize_model``) and writes a directory that looks like
the source (same config, vocabulary, layout and tokenizer files, so the CLI, the Interface and
the loader open it with ``--model OUT`` like any other) except that ``model.safetensors`` holds
``qweight``/``scales``/``zeros`` for the quantized modules, and ``quantization.json`` (the
manifest) says which modules those are. The runtime conversion happens at load:
``load_quantized_weights`` rebuilds the quantized modules in a freshly built float model and
loads the file strictly. The manifest's digest is stored in the safetensors metadata, so a
manifest and weights from different runs, a tensor of the wrong shape or a corrupt file are
refused with one line.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from vall_e.errors import CheckpointError
from vall_e.models.checkpoint import read_json, staged_directory
from vall_e.models.integrity import checksum_metadata, verify_state
from vall_e.quantize.convert import MODES, QuantSpec, apply_manifest, quantize_model

MANIFEST_FILE = "quantization.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT = "vall_e.quantization"
VERSION = 1
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


def is_quantized(directory: str | Path) -> bool:
    return (Path(directory) / MANIFEST_FILE).is_file()


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


def _digest(mode: str, modules: dict) -> str:
    canonical = json.dumps({"mode": mode, "modules": modules}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _float_model(source: Path):
    """(family, the module whose state dict is the checkpoint's weights, a keep-alive object)."""
    from vall_e.inference.loader import checkpoint_family

    family = checkpoint_family(source)
    if family == "llm":
        from vall_e.models.llm_checkpoint import load_llm_checkpoint

        loaded = load_llm_checkpoint(source, "cpu")
        return family, loaded.model.lm, loaded
    from vall_e.models.checkpoint import load_checkpoint

    loaded = load_checkpoint(source, "cpu")
    return family, loaded.model, loaded


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
                "modules": modules, "kept_float": kept_float, "aliases": aliases, "digest": _digest(spec.mode, modules)}
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


def read_manifest(directory: str | Path) -> dict:
    path = Path(directory) / MANIFEST_FILE
    manifest = read_json(path)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a vall_e quantization manifest")
    if manifest.get("version") != VERSION:
        raise CheckpointError(f"{path} has version {manifest.get('version')}; this vall_e reads "
                              f"{VERSION}: quantize the float checkpoint again")
    modules, spec = manifest.get("modules"), manifest.get("spec")
    if not isinstance(modules, dict) or not isinstance(spec, dict) or spec.get("mode") not in MODES:
        raise CheckpointError(f"{path} is invalid (modules or spec missing): quantize again")
    if manifest.get("digest") != _digest(spec["mode"], modules):
        raise CheckpointError(f"{path} was edited after it was written (digest mismatch): "
                              "quantize the float checkpoint again")
    return manifest


def load_quantized_weights(model: torch.nn.Module, directory: str | Path) -> torch.nn.Module:
    """Turn the freshly built float ``model`` into the quantized one stored in ``directory``."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    weights = directory / WEIGHTS_FILE
    try:
        apply_manifest(model, manifest["modules"], manifest["spec"]["mode"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{directory}/{MANIFEST_FILE} does not fit the model its config "
                              f"describes: {exc}") from None
    if not weights.is_file():
        raise CheckpointError(f"{directory} is incomplete: {WEIGHTS_FILE} is missing")
    try:
        with safe_open(str(weights), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            state = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{weights} is corrupt: {str(exc).splitlines()[0]}") from None
    stored = list(state)  # the checksum covers these, not the aliases added below
    if metadata.get("digest") != manifest["digest"]:
        raise CheckpointError(f"{weights} and {MANIFEST_FILE} come from different quantization "
                              "runs: quantize the float checkpoint again")
    for alias, key in manifest.get("aliases", {}).items():
        if key in state:
            state[alias] = state[key]
    _check_state(model.state_dict(), state, weights)  # the more precise message first
    verify_state({k: state[k] for k in stored}, metadata, weights)  # a flipped bit: one line
    model.load_state_dict(state, strict=True)
    return model


def _check_state(expected: dict, found: dict, weights: Path) -> None:
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        what = f"lacks {missing[0]}" if missing else f"has an unexpected {unexpected[0]}"
        raise CheckpointError(f"{weights} does not match {MANIFEST_FILE}: it {what} "
                              f"({len(missing)} missing, {len(unexpected)} unexpected tensors)")
    for key, tensor in expected.items():
        got = found[key]
        quantized = key.endswith((".qweight", ".scales", ".zeros"))
        if got.shape != tensor.shape or (quantized and got.dtype != tensor.dtype):
            raise CheckpointError(
                f"{weights} does not match {MANIFEST_FILE}: {key} is {got.dtype} "
                f"{list(got.shape)}, expected {tensor.dtype} {list(tensor.shape)}")


def load_quantized_lm(directory: str | Path, dtype: torch.dtype | None = None):
    """The Hugging Face causal LM of a quantized LLM-TTS directory (never the network)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        config = AutoConfig.from_pretrained(str(directory), local_files_only=True)
    except Exception as exc:
        reason = " ".join(str(exc).split())[:200]
        raise CheckpointError(f"{directory}: the model config does not load ({reason})") from None
    lm = AutoModelForCausalLM.from_config(config)
    load_quantized_weights(lm, directory)
    return lm.to(dtype) if dtype is not None else lm
