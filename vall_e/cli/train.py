"""`python -m vall_e.train --yaml CFG [--resume]`: train the AR+NAR model on prepared shards."""
from __future__ import annotations

import argparse

from vall_e.cli.common import OneLineParser


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m vall_e.train", description="Train a vall_e model.")
    p.add_argument("--yaml", required=True, help="experiment YAML (see configs/)")
    p.add_argument("--data", help="prepared shards directory (overrides data.path)")
    p.add_argument("--output-dir", help="run directory (overrides train.output_dir)")
    p.add_argument("--max-steps", type=int, help="total optimiser steps (overrides train.max_steps)")
    p.add_argument("--resume", action="store_true", help="continue the run in the output directory")
    p.add_argument("--quiet", action="store_true", help="no progress bar or model summary")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from vall_e.config import Config
    from vall_e.training.train import train

    config = Config.from_yaml(args.yaml)
    if args.data:
        config.data.path = args.data
    if args.output_dir:
        config.train.output_dir = args.output_dir
    if args.max_steps is not None:
        config.train.max_steps = args.max_steps
    latest = train(config, resume=args.resume, progress=not args.quiet)
    print(f"newest checkpoint: {latest}")
    return 0
