"""`python -m vall_e.quantize --model DIR --out DIR2 --bits {8,4} [--group-size N]`: write a
weight-quantized copy of a checkpoint (either family) that loads with ``--model DIR2``."""
from __future__ import annotations

import argparse

from vall_e.quantize.convert import QuantSpec
from vall_e.cli.common import OneLineParser

DEFAULT_GROUP = {8: 0, 4: 32}  # int8: one scale per row (the fast kernel); int4: 32 per group


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m vall_e.quantize", description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="float checkpoint directory (AR+NAR or LLM-TTS)")
    p.add_argument("--out", required=True, help="directory to write the quantized checkpoint to")
    p.add_argument("--bits", type=int, choices=[8, 4], default=8, help="weight bits (default 8)")
    p.add_argument("--group-size", type=int, default=None,
                   help="input columns sharing one scale; 0 = one per output row "
                        "(default: 0 for 8 bits, 32 for 4 bits; int4's CPU kernel takes 32/64/128/256)")
    p.add_argument("--dynamic", action="store_true",
                   help="torch.ao dynamic int8 (activations quantized per call as well); "
                        "needs --bits 8 and one scale per row")
    p.add_argument("--skip-head", action="store_true",
                   help="keep the output head(s) in float (default: quantized)")
    p.add_argument("--quantize-embeddings", action="store_true",
                   help="quantize the embedding tables too (default: kept in float)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return p


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from vall_e.quantize.checkpoint import quantize_checkpoint

    group = DEFAULT_GROUP[args.bits] if args.group_size is None else args.group_size
    spec = QuantSpec(bits=args.bits, group_size=group,
                     mode="dynamic" if args.dynamic else "weight-only",
                     quantize_head=not args.skip_head,
                     quantize_embeddings=args.quantize_embeddings).validate()
    report = quantize_checkpoint(args.model, args.out, spec)
    if not args.quiet:
        mode = "dynamic int8" if args.dynamic else f"int{args.bits}, group {group or 'per row'}"
        print(f"wrote {report.path} ({report.family}, {mode}, {report.n_modules} modules): "
              f"weights on disk {_mb(report.source_disk_bytes)} -> {_mb(report.disk_bytes)} "
              f"({report.source_disk_bytes / report.disk_bytes:.2f}x smaller); in memory "
              f"{_mb(report.source_memory_bytes)} -> {_mb(report.memory_bytes)} "
              f"(with the CPU kernels' repacked copies)")
        if report.kept_float:
            name, why = next(iter(report.kept_float.items()))
            print(f"kept in float: {len(report.kept_float)} layers the group size does not fit, "
                  f"e.g. {name} ({why}); a --group-size that divides them quantizes them too")
    return 0
