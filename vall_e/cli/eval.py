"""`python -m vall_e.eval --model DIR --sentences FILE --refs DIR`: score a model (or, with
--codec, a codec alone; with --originals, the reference recordings themselves, or with
--held-out N, other recordings of the same speakers against them; with --teacher PLAN, the corpus
teacher that spoke each reference reading the same sentences a model reads) by WER/CER (Whisper base),
speaker similarity (Resemblyzer), real-time factor and AR steps per second of audio. Prints a
table; --json writes every row and aggregate.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vall_e.cli.sampling_flags import add_sampling_flags, sampling_params_from_args
from vall_e.config import REPEAT_MODES, VOICE_MATCH_LEVELS
from vall_e.errors import ConfigError, VallEError
from vall_e.cli.common import OneLineParser

DESCRIPTION = ("Synthesize every sentence with every reference voice (--model), or resynthesize "
               "every reference (--codec), and score it; --originals scores the references as "
               "recorded (the baseline).")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m vall_e.eval", description=DESCRIPTION)
    what = p.add_argument_group("what to evaluate (one of --model / --codec / --originals / "
                                "--teacher)")
    what.add_argument("--model", help="checkpoint directory (AR+NAR or LLM-TTS)")
    what.add_argument("--codec", help="codec name (e.g. encodec, snac): score encode -> decode alone")
    what.add_argument("--originals", action="store_true",
                      help="score the reference recordings as they are (the judges' baseline)")
    what.add_argument("--teacher", metavar="PLAN",
                      help="the teacher that spoke each reference (from this corpus plan: "
                           "plan.jsonl or its corpus directory) reads --sentences in its voice: "
                           "the ceiling on the very items a --model is scored on")
    what.add_argument("--held-out", type=int, metavar="N",
                      help="--originals: judge up to N other recordings of each reference's "
                           "speaker against it, not the reference itself (the margin real "
                           "speech of the voice reaches: the ceiling for a clone's)")
    what.add_argument("--codec-path", help="codec weights directory (for --model: overrides the "
                      "checkpoint's)")
    what.add_argument("--lora", metavar="DIR",
                      help="--model: merge this LoRA adapter (python -m vall_e.finetune) at load, "
                           "to score a fine-tuned speaker")
    what.add_argument("--speaker-offset", metavar="FILE",
                      help="--model: add this speaker offset (python -m vall_e.finetune, method "
                           "offset) at load")
    what.add_argument("--levels", type=int, help="--codec: number of code levels kept (default 8); "
                      "--model (AR+NAR): levels generated and decoded (default: the checkpoint's)")
    data = p.add_argument_group("data")
    data.add_argument("--sentences", help="text file, one sentence a line (needed with --model)")
    data.add_argument("--refs", required=True, help="directory of reference wavs, each with a "
                      "same-name .txt transcript (subdirectories name speakers)")
    data.add_argument("--limit", type=int, help="use at most N sentences and N references")
    data.add_argument("--per-speaker", type=int,
                      help="use at most N references of each speaker (subdirectory)")
    data.add_argument("--max-sentences", type=int,
                      help="use at most N sentences (overrides --limit for sentences)")
    run = p.add_argument_group("run")
    run.add_argument("--json", help="write all rows and aggregates to this JSON file")
    run.add_argument("--device", default=None, help="auto (default), cpu, cuda, cuda:N")
    run.add_argument("--threads", type=int, default=0,
                     help="CPU threads for torch and Whisper (0: the libraries' defaults)")
    run.add_argument("--max-ar-steps", type=int, help="--model: hard cap on AR steps per sentence")
    run.add_argument("--input-prompt-length", type=float,
                     help="--model: seconds of each reference used as the acoustic prompt "
                          "(default: the checkpoint's inference.input_prompt_length)")
    run.add_argument("--repeat-short-prompt", choices=REPEAT_MODES,
                     help="--model (AR+NAR): which passes read a reference shorter than the "
                          "prompt length repeated up to it: nar, all or none (default: the "
                          "checkpoint's inference.repeat_short_prompt)")
    run.add_argument("--voice-match", type=float, metavar="A",
                     help="--model (AR+NAR over mel_rvq): move each output frame this share "
                          "(0-1) toward its nearest frames of the reference (default: the "
                          "checkpoint's inference.voice_match)")
    run.add_argument("--voice-match-levels", choices=VOICE_MATCH_LEVELS,
                     help="--model: what --voice-match moves: the code levels above 0 (fine) or "
                          "whole log-mel frames (all) (default: the checkpoint's "
                          "inference.voice_match_levels)")
    run.add_argument("--candidates", type=int,
                     help="--model (shared-prefix AR+NAR): level-0 candidates per sentence, ranked "
                          "by the model's phoneme critic (default: the checkpoint's "
                          "inference.candidates)")
    run.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    add_sampling_flags(p)
    return p


def _check(args: argparse.Namespace) -> None:
    """Refuse contradictory or missing inputs before anything slow is loaded."""
    if sum((bool(args.model), bool(args.codec), args.originals, bool(args.teacher))) != 1:
        raise ConfigError("pass exactly one of --model DIR (a TTS checkpoint), --codec NAME, "
                          "--originals or --teacher PLAN")
    if (args.model or args.teacher) and not args.sentences:
        what = "--model" if args.model else "--teacher"
        raise ConfigError(f"{what} needs --sentences FILE (one sentence a line)")
    if (args.codec or args.originals) and args.sentences:
        raise ConfigError("--codec and --originals score the references' own transcripts; "
                          "--sentences does not apply")
    if args.levels is not None and (not (args.codec or args.model) or args.levels <= 0):
        raise ConfigError("--levels takes a positive number and only applies with --codec or --model")
    for flag in ("limit", "per_speaker", "max_sentences"):
        if getattr(args, flag) is not None and getattr(args, flag) <= 0:
            raise ConfigError(f"--{flag.replace('_', '-')} must be positive")
    if (args.lora or args.speaker_offset) and not args.model:
        raise ConfigError("--lora and --speaker-offset adapt a --model; they do not apply to "
                          "--codec or --originals")
    if args.lora and args.speaker_offset:
        raise ConfigError("pass one of --lora and --speaker-offset, not both")
    if args.max_sentences is not None and not (args.model or args.teacher):
        raise ConfigError("--max-sentences only applies with --model or --teacher (the others "
                          "use no sentences)")
    if args.held_out is not None and (args.held_out <= 0 or not args.originals):
        raise ConfigError("--held-out takes a positive number of recordings and only applies "
                          "with --originals")
    if args.threads < 0:
        raise ConfigError("--threads must be 0 (default) or positive")
    if args.max_ar_steps is not None and (args.max_ar_steps <= 0 or not args.model):
        raise ConfigError("--max-ar-steps takes a positive number and only applies with --model")
    if args.input_prompt_length is not None and (args.input_prompt_length <= 0 or not args.model):
        raise ConfigError("--input-prompt-length takes a positive number of seconds and only "
                          "applies with --model")
    if args.repeat_short_prompt is not None and not args.model:
        raise ConfigError("--repeat-short-prompt only applies with --model")
    if args.voice_match is not None and (not 0 <= args.voice_match <= 1 or not args.model):
        raise ConfigError("--voice-match takes a share between 0 and 1 and only applies with --model")
    if args.voice_match_levels is not None and not args.model:
        raise ConfigError("--voice-match-levels only applies with --model")
    if args.candidates is not None and (args.candidates < 1 or not args.model):
        raise ConfigError("--candidates takes a number >= 1 and only applies with --model")
    if args.model and not Path(args.model).exists():
        raise ConfigError(f"model directory not found: {args.model}")


def _load_engine(args: argparse.Namespace):
    from vall_e.inference.loader import load_engine

    try:
        return load_engine(args.model, args.device or "auto", args.codec_path, lora=args.lora,
                           speaker_offset=args.speaker_offset)
    except ValueError as exc:  # e.g. a CUDA device on a CPU machine
        if isinstance(exc, VallEError):
            raise
        raise ConfigError(str(exc)) from None


def _load_codec(args: argparse.Namespace):
    from vall_e.codecs import get_codec
    from vall_e.config import CodecConfig

    return get_codec(CodecConfig(name=args.codec, path=args.codec_path, n_levels=args.levels or 8))


def main(argv: list[str] | None = None, judges=None) -> int:
    """Run the evaluation; ``judges`` replaces Whisper + Resemblyzer (tests pass fakes)."""
    args = build_parser().parse_args(argv)
    _check(args)
    import torch

    from vall_e.eval.judges import Judges
    from vall_e.eval.report import format_table, write_json
    from vall_e.eval.run import (evaluate_codec, evaluate_held_out, evaluate_model,
                                 evaluate_originals, load_references, load_sentences, summarize)

    params = sampling_params_from_args(args)
    refs = load_references(args.refs, args.limit, args.per_speaker)
    sentences = (load_sentences(args.sentences, args.max_sentences or args.limit)
                 if args.model or args.teacher else [])
    if args.threads:
        torch.set_num_threads(args.threads)
    judges = judges or Judges(threads=args.threads)
    say = None if args.quiet else (lambda line: print(f"scored {line}", file=sys.stderr))
    if args.model:
        from dataclasses import asdict, replace

        engine = _load_engine(args)
        params = sampling_params_from_args(args, engine.default_sampling)
        settings = engine.defaults
        if args.max_ar_steps:
            settings = replace(settings, max_ar_steps=args.max_ar_steps)
        if args.levels:
            settings = replace(settings, levels=args.levels)
        if args.input_prompt_length:
            settings = replace(settings, input_prompt_length=args.input_prompt_length)
        if args.candidates:
            settings = replace(settings, candidates=args.candidates)
        if args.repeat_short_prompt is not None:
            settings = replace(settings, repeat_short_prompt=args.repeat_short_prompt)
        if args.voice_match is not None:
            settings = replace(settings, voice_match=args.voice_match)
        if args.voice_match_levels is not None:
            settings = replace(settings, voice_match_levels=args.voice_match_levels)
        rows = evaluate_model(engine, sentences, refs, judges, params, settings, progress=say)
        setup = {"mode": "model", "model": str(args.model), "sampling": asdict(params),
                 "max_ar_steps": settings.max_ar_steps, "levels": settings.levels,
                 "input_prompt_length": settings.input_prompt_length,
                 "candidates": settings.candidates,
                 "repeat_short_prompt": settings.repeat_short_prompt,
                 "voice_match": settings.voice_match,
                 "voice_match_levels": settings.voice_match_levels}
    elif args.teacher:
        from vall_e.eval.teacher import evaluate_teacher_plan

        rows = evaluate_teacher_plan(sentences, refs, judges, args.teacher, args.threads,
                                     progress=say)
        setup = {"mode": "teacher", "plan": str(args.teacher), "refs": str(args.refs)}
    elif args.originals and args.held_out:
        rows = evaluate_held_out(refs, load_references(args.refs), judges, args.held_out,
                                 progress=say)
        setup = {"mode": "originals", "refs": str(args.refs), "held_out": args.held_out}
    elif args.originals:
        rows = evaluate_originals(refs, judges, progress=say)
        setup = {"mode": "originals", "refs": str(args.refs)}
    else:
        codec = _load_codec(args)
        rows = evaluate_codec(codec, refs, judges, progress=say)
        setup = {"mode": "codec", "codec": args.codec, "codec_path": args.codec_path,
                 "levels": codec.n_levels, "sample_rate": codec.sample_rate}
    summary = summarize(rows)
    print(format_table(summary))
    if args.json:
        path = write_json(args.json, {"setup": setup, **summary, "items": rows})
        if not args.quiet:
            print(f"wrote {path}", file=sys.stderr)
    return 0
