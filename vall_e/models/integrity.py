"""A checksum of a safetensors file's tensors, stored in its own metadata and checked at load.

safetensors checks a file's structure (header, offsets), not its contents: a flipped bit inside
a tensor loads silently and shows up later as NaN logits (a traceback) or as worse speech.
Writers put ``checksum_metadata(state)`` into the file's metadata; loaders call
``verify_state(state, metadata, path)``, which raises one ``CheckpointError`` line naming the
file when the stored checksum differs, or when a float tensor holds NaN or infinity (caught even
in files written before checksums existed, whose checksum is simply "not verified").

The checksum is sha256 over the tensors in key order (name, dtype, shape, then the raw bytes):
~0.5 GB/s on one core, ~30 ms for the default model, so it stays on for every load.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from safetensors import safe_open

from vall_e.errors import CheckpointError

CHECKSUM_KEY = "checksum"
ALGORITHM = "sha256"


def tensors_checksum(state: dict[str, torch.Tensor]) -> str:
    """``"sha256:<hex>"`` of ``state``: independent of the file layout and of dict order."""
    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach()
        digest.update(f"{key}\0{str(tensor.dtype)}\0{list(tensor.shape)}\0".encode())
        if tensor.numel():
            raw = tensor.to("cpu").contiguous().reshape(-1).view(torch.uint8)
            digest.update(memoryview(raw.numpy()))
    return f"{ALGORITHM}:{digest.hexdigest()}"


def checksum_metadata(state: dict[str, torch.Tensor], metadata: dict | None = None) -> dict:
    """``metadata`` (a copy) with the checksum of ``state`` added: pass it to ``save_file``."""
    return {**(metadata or {}), CHECKSUM_KEY: tensors_checksum(state)}


def verify_state(state: dict[str, torch.Tensor], metadata: dict | None, path: str | Path) -> None:
    """Refuse ``state`` loaded from ``path`` when it is not what was written (module docstring)."""
    stored = (metadata or {}).get(CHECKSUM_KEY)
    if stored is not None:
        if not str(stored).startswith(f"{ALGORITHM}:"):
            raise CheckpointError(f"{path}: unknown checksum kind {str(stored)[:16]!r}; "
                                  "this vall_e checks sha256")
        if tensors_checksum(state) != stored:
            raise CheckpointError(f"{path} is corrupt: its tensors do not match the checksum "
                                  "stored when it was written (damaged copy or disk); "
                                  "copy or download it again")
    for key, tensor in state.items():
        if tensor.is_floating_point() and tensor.numel() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{path} is corrupt: tensor {key} holds NaN or infinite values; "
                                  "copy or download it again")


def read_weights(weights: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, metadata) of a safetensors file, a missing or corrupt one as one
    ``CheckpointError`` line (what every checkpoint loader reads before ``verify_state``)."""
    weights = Path(weights)
    if not weights.is_file():
        raise CheckpointError(f"{weights.parent} is incomplete: {weights.name} is missing")
    try:
        with safe_open(str(weights), framework="pt", device="cpu") as handle:
            return {key: handle.get_tensor(key) for key in handle.keys()}, handle.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{weights} is corrupt: {str(exc).splitlines()[0]}") from None
