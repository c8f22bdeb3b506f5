"""`python -m vall_e.export --model DIR --out PATH [--format safetensors|gguf] [--dtype ...]`:
write a checkpoint in another dtype (a directory), or an LLM-TTS model as one GGUF file that
is read back and compared tensor by tensor before the command reports success."""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from vall_e.errors import ConfigError
from vall_e.cli.common import OneLineParser

DEFAULT_DTYPE = {"safetensors": "bfloat16", "gguf": "float16"}


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m vall_e.export", description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True,
                   help="checkpoint directory (a quantized one exports its dequantized weights)")
    p.add_argument("--out", required=True,
                   help="safetensors: the directory to write; gguf: the .gguf file to write")
    p.add_argument("--format", choices=["safetensors", "gguf"], default="safetensors")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default=None,
                   help="dtype of the stored weights (default: bfloat16 for safetensors, float16 "
                        "for gguf; gguf keeps 1-D tensors in float32 as llama.cpp expects)")
    p.add_argument("--merge-lora", metavar="ADAPTER_DIR",
                   help="merge a LoRA adapter (vall_e.finetune) into --model first, then export")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return p


def _merged(model: Path, adapter: str, workdir: Path) -> Path:
    try:
        from vall_e.finetune.merge import merge_lora
    except ImportError:
        raise ConfigError("--merge-lora needs vall_e.finetune.merge, which this installation "
                          "lacks") from None
    return Path(merge_lora(model, Path(adapter), workdir / "merged"))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from vall_e.export import export_gguf, export_safetensors, verify_gguf

    dtype = args.dtype or DEFAULT_DTYPE[args.format]
    with tempfile.TemporaryDirectory(prefix="vall_e-export-") as tmp:
        source = Path(args.model)
        if args.merge_lora:
            source = _merged(source, args.merge_lora, Path(tmp))
        if args.format == "safetensors":
            out = export_safetensors(source, args.out, dtype)
            note = "a checkpoint directory: open it with --model"
        else:
            from vall_e.checkpoint import checkpoint_family

            if checkpoint_family(source) != "llm":
                raise ConfigError("GGUF export is for LLM-TTS checkpoints (llama.cpp's llama "
                                  "architecture); export AR+NAR models as safetensors")
            out = export_gguf(source, args.out, dtype)
            note = f"read back: {verify_gguf(out, source)} tensors equal to the checkpoint's"
    if not args.quiet:
        size = sum(f.stat().st_size for f in Path(out).rglob("*") if f.is_file()) \
            if Path(out).is_dir() else Path(out).stat().st_size
        print(f"wrote {out} ({dtype}, {size / 2**20:.1f} MiB); {note}", file=sys.stderr)
    return 0
