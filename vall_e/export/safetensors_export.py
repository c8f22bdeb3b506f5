"""Export a float checkpoint (either family) with its weights stored in another dtype.

The result is an ordinary checkpoint directory (``--model OUT`` opens it): the same config,
vocabulary, layout and tokenizer files, ``model.safetensors`` in the chosen dtype. A bfloat16
export halves the file; loading upcasts it to the model's dtype unless ``--dtype`` says
otherwise. A quantized checkpoint (the embedded default ships int8) exports as its exact
dequantized weights: on a fresh machine it is the only copy there is, and its float form is
what a fine-tune, an ablation or another quantization starts from.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import torch

from vall_e.errors import CheckpointError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def torch_dtype(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise CheckpointError(f"--dtype must be one of {sorted(DTYPES)}, got {name!r}")
    return DTYPES[name]


def check_float_source(source: Path) -> None:
    from vall_e.quantize.runtime import MANIFEST_FILE, is_quantized

    if is_quantized(source):
        raise CheckpointError(f"{source} is quantized ({MANIFEST_FILE}); write its float copy "
                              f"first: python -m vall_e.export --model {source} --out DIR "
                              "--dtype float32")


def export_safetensors(source: str | Path, out: str | Path, dtype: str = "bfloat16") -> Path:
    """Write ``source`` to the directory ``out`` with float weights cast to ``dtype``."""
    from vall_e.checkpoint import load_checkpoint, save_like
    from vall_e.quantize.dequantize import dequantize_model
    from vall_e.quantize.runtime import MANIFEST_FILE

    source, out = Path(source), Path(out)
    target = torch_dtype(dtype)
    if out.exists() and out.resolve() == source.resolve():
        raise CheckpointError("--out must differ from --model")
    loaded = load_checkpoint(source, "cpu")
    dequantize_model(loaded.model)
    loaded.model.to(target)
    save_like(loaded, out)
    copy_extras(source, out, skip={MANIFEST_FILE})  # the export is float: no manifest
    return out


def copy_extras(source: Path, out: Path, skip: set[str] = frozenset()) -> None:
    """Files of the source the savers do not write (a codec directory beside the weights, a
    README, ...), except other weight files and the names in ``skip``."""
    from vall_e.checkpoint_format import LEGACY_META_FILE, META_FILE

    if (out / META_FILE).is_file():  # the saver wrote the metadata: an older AR+NAR source's
        skip = set(skip) | {LEGACY_META_FILE}  # config.json holds the same record, now stale
    for item in source.iterdir():
        target = out / item.name
        if target.exists() or item.name in skip or \
                item.name.endswith((".safetensors", ".bin", ".index.json", ".gguf")):
            continue
        (shutil.copytree if item.is_dir() else shutil.copy2)(item, target)
