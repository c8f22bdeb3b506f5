"""Package a trained AR+NAR run and its codec as the embedded default model.

    python scripts/ship_default_model.py --model runs/default/latest --codec runs/codec/mel50/codec

writes vall_e/assets/default/ (checkpoint + codec/ inside, bfloat16 weights) and prints its size.
The package may carry at most 40 MB; a larger result is refused (nothing is replaced).
``--levels N`` ships ``inference.levels: N`` (measure first: python -m vall_e.eval --levels N);
``--int8`` stores the model's linear layers as int8 (python -m vall_e.quantize's format).
``--stream-levels N`` ships ``inference.stream_levels: N`` (streams decode N levels).
``--stream-lookahead N`` ships ``inference.stream_lookahead: N`` (measure first:
python scripts/bench_stream_wer.py --lookahead N).
``--stream-first-steps N`` ships ``inference.stream_first_steps: N`` (measure first:
python scripts/bench_stream_wer.py --first-steps N).
``--pace 0.8`` ships ``inference.pace: 0.8`` (the pace --speed 1 means; measure first:
python -m vall_e.eval --speed 0.8).
``--repeat-short-prompt nar`` ships ``inference.repeat_short_prompt: nar`` (measure first:
python -m vall_e.eval --repeat-short-prompt nar).
``--voice-match 0.15`` ships ``inference.voice_match: 0.15`` (measure first:
python -m vall_e.eval --voice-match 0.15).
``--sampling ar_temp=0.6`` (repeatable) ships sampler defaults (flags still override them).
"""
from __future__ import annotations

import argparse
import ast
import sys

import torch

from vall_e.default_model import DEFAULT_MODEL_DIR, directory_megabytes, package_default
from vall_e.config import REPEAT_MODES, VOICE_MATCH_LEVELS
from vall_e.errors import VallEError

LIMIT_MB = 40.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="AR+NAR checkpoint directory (a run's latest/)")
    parser.add_argument("--codec", required=True, help="mel_rvq codec directory")
    parser.add_argument("--out", default=str(DEFAULT_MODEL_DIR), help="target (default: the package's)")
    parser.add_argument("--dtype", choices=["bfloat16", "float16", "float32"], default="bfloat16")
    parser.add_argument("--levels", type=int, default=None,
                        help="codec levels the shipped model generates and decodes by default")
    parser.add_argument("--stream-first-steps", type=int, default=None,
                        help="level-0 passes of a stream's first window (default: the model's)")
    parser.add_argument("--stream-levels", type=int, default=None,
                        help="codec levels a stream's windows generate (default: --levels)")
    parser.add_argument("--stream-lookahead", type=int, default=None,
                        help="frames a stream window draws past what it commits (default 12)")
    parser.add_argument("--pace", type=float, default=None,
                        help="inference.pace: the pace --speed 1 means (0.8: durations / 0.8)")
    parser.add_argument("--input-prompt-length", type=float, default=None,
                        help="inference.input_prompt_length: seconds of a reference kept as the "
                             "voice prompt (default: the run's)")
    parser.add_argument("--critic", default=None,
                        help="phoneme critic directory (python -m vall_e.align critic) shipped as "
                             "MODEL/critic, which ranks level-0 candidates")
    parser.add_argument("--candidates", type=int, default=None,
                        help="inference.candidates: level-0 candidates per sentence (needs --critic)")
    parser.add_argument("--repeat-short-prompt", choices=REPEAT_MODES, default=None,
                        help="inference.repeat_short_prompt: which passes read a reference "
                             "shorter than the prompt length repeated up to it")
    parser.add_argument("--voice-match", type=float, default=None,
                        help="inference.voice_match: share (0-1) of the way each output frame "
                             "moves toward its nearest frames of the reference")
    parser.add_argument("--voice-match-levels", choices=VOICE_MATCH_LEVELS, default=None,
                        help="inference.voice_match_levels: what --voice-match moves (the code "
                             "levels above 0, or whole log-mel frames)")
    parser.add_argument("--int8", action="store_true", help="int8 weight-only linear layers")
    parser.add_argument("--sampling", action="append", default=[], metavar="NAME=VALUE",
                        help="a sampler default the shipped model carries (a SamplingParams field)")
    args = parser.parse_args(argv)
    sampling = {}
    for item in args.sampling:
        name, sep, text = item.partition("=")
        try:
            sampling[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            sep = ""
        if not sep:
            print(f"error: --sampling takes NAME=VALUE with a Python literal value, got {item!r}",
                  file=sys.stderr)
            return 2
    staging = f"{args.out}.candidate"
    try:
        package_default(args.model, args.codec, staging, getattr(torch, args.dtype),
                        levels=args.levels, int8=args.int8, sampling=sampling,
                        stream_first_steps=args.stream_first_steps,
                        stream_levels=args.stream_levels,
                        stream_lookahead=args.stream_lookahead, pace=args.pace,
                        input_prompt_length=args.input_prompt_length,
                        critic_dir=args.critic, candidates=args.candidates,
                        repeat_short_prompt=args.repeat_short_prompt,
                        voice_match=args.voice_match,
                        voice_match_levels=args.voice_match_levels)
    except VallEError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size = directory_megabytes(staging)
    if size > LIMIT_MB:
        print(f"error: the packaged model is {size:.1f} MB, over the {LIMIT_MB:.0f} MB the package may "
              f"carry; left at {staging} for inspection", file=sys.stderr)
        return 2
    from pathlib import Path

    from vall_e.atomic import swap_into_place

    swap_into_place(Path(staging), Path(args.out))
    detail = ", ".join([args.dtype] + (["int8 linears"] if args.int8 else [])
                       + ([f"levels {args.levels}"] if args.levels else [])
                       + ([f"streams {args.stream_levels} levels"] if args.stream_levels else [])
                       + ([f"stream first window {args.stream_first_steps} passes"]
                          if args.stream_first_steps else [])
                       + ([f"pace {args.pace}"] if args.pace else [])
                       + ([f"prompt {args.input_prompt_length} s"] if args.input_prompt_length else [])
                       + ([f"short prompts repeated for {args.repeat_short_prompt}"]
                          if args.repeat_short_prompt else [])
                       + ([f"voice match {args.voice_match}"
                           + (f" ({args.voice_match_levels})" if args.voice_match_levels else "")]
                          if args.voice_match else [])
                       + [f"{k}={v}" for k, v in sampling.items()])
    print(f"wrote {args.out}: {size:.1f} MB ({detail})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
