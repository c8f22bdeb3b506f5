"""The runtime half of quantization: turn a freshly built float model into the quantized one a
directory stores, at load time.

Imported by the family loaders (``models.checkpoint``, ``models.llm_checkpoint``); it imports
nothing above the quantized modules, so loading never pulls in the offline rewrite
(``quantize.checkpoint``), which itself loads checkpoints. ``load_quantized_weights`` rebuilds
the quantized modules the manifest (``quantization.json``) names and loads the file strictly;
the manifest's digest is stored in the safetensors metadata, so a manifest and weights from
different runs, a tensor of the wrong shape or a corrupt file are refused with one line.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from vall_e.atomic import read_json
from vall_e.errors import CheckpointError
from vall_e.models.integrity import read_weights, verify_state
from vall_e.quantize.convert import MODES, apply_manifest

MANIFEST_FILE = "quantization.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT = "vall_e.quantization"
VERSION = 1


def is_quantized(directory: str | Path) -> bool:
    return (Path(directory) / MANIFEST_FILE).is_file()


def manifest_digest(mode: str, modules: dict) -> str:
    canonical = json.dumps({"mode": mode, "modules": modules}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


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
    if manifest.get("digest") != manifest_digest(spec["mode"], modules):
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
    state, metadata = read_weights(weights)
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
