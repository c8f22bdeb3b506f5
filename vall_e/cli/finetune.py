"""`python -m vall_e.finetune --yaml RECIPE`: fine-tune a base checkpoint to one speaker.

Flags override the recipe's paths and length; everything else is in the YAML (see
``vall_e.finetune.config`` and ``recipes/finetune/``).
"""
from __future__ import annotations

import argparse

from vall_e.cli.common import OneLineParser

EPILOG = """\
methods (the recipe's method:):
  lora    peft LoRA adapter -> <output_dir>/adapter     use: python -m vall_e ... --lora DIR
  full    full fine-tune    -> <output_dir>/checkpoint  use: python -m vall_e ... --model DIR
  offset  speaker vector    -> <output_dir>/<speaker>.offset.safetensors
                                                        use: python -m vall_e ... --speaker-offset FILE
"""


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m vall_e.finetune", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="Fine-tune a vall_e checkpoint to one speaker.")
    p.add_argument("--yaml", required=True, help="fine-tune recipe (see recipes/finetune/)")
    p.add_argument("--base", help="base checkpoint directory (overrides base)")
    p.add_argument("--data", help="the speaker's <speaker>/<id>.wav + <id>.txt folder "
                   "(overrides speaker_data)")
    p.add_argument("--output-dir", help="where data, state and the result go (overrides "
                   "train.output_dir)")
    p.add_argument("--max-steps", type=int, help="optimiser steps (overrides train.max_steps)")
    p.add_argument("--resume", action="store_true", help="continue the run in the output directory")
    p.add_argument("--quiet", action="store_true", help="no progress bars; only the summary line")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from vall_e.errors import ConfigError
    from vall_e.finetune.config import FinetuneConfig

    config = FinetuneConfig.from_yaml(args.yaml)  # a bad recipe fails before the heavy imports
    if args.base:
        config.base = args.base
    if args.data:
        config.speaker_data = args.data
    if args.output_dir:
        config.train.output_dir = args.output_dir
    if args.max_steps is not None:
        if args.max_steps <= 0:
            raise ConfigError("--max-steps must be positive")
        config.train.max_steps = args.max_steps
    from vall_e.finetune.recipe import finetune

    result = finetune(config, resume=args.resume, progress=not args.quiet)
    print(result.summary())
    return 0
