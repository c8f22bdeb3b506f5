"""Command line of ``python -m vall_e.data``: ``prepare`` a corpus into shards, or write a
``synthetic`` test corpus.

Argument parsing lives here and nowhere else; the work is done by ``vall_e.data``. Any
``VallEError`` is printed as one ``error: <message>`` line on stderr with exit status 2.
"""
from __future__ import annotations

import argparse
import sys

from vall_e.errors import ConfigError, VallEError
from vall_e.cli.common import OneLineParser

_PREPARE_EPILOG = """\
input layouts (detected automatically):
  <input>/<speaker>/<id>.wav + <id>.txt    one folder per speaker (wav, flac, ogg, ...)
  <input>/metadata.csv + wavs/<id>.wav     LJSpeech: id|text[|normalized_text] per line

Rerunning with the same --output skips files already prepared, and files listed in
<output>/failed.jsonl unless --retry-failed is given.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m vall_e.data",
        description="Prepare training data: audio + transcripts -> phonemes + codec codes.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    prep = sub.add_parser(
        "prepare", help="encode a corpus into shards of phonemes + codes",
        description="Encode a corpus into shards of phonemes + codes (resumable).",
        epilog=_PREPARE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    prep.add_argument("--yaml", metavar="CFG", default=None,
                      help="experiment YAML; its codec and data sections are used "
                           "(default: built-in defaults)")
    prep.add_argument("--input", metavar="DIR", required=True, help="corpus directory to read")
    prep.add_argument("--output", metavar="DIR", default=None,
                      help="directory for the shards (default: data.path from the YAML)")
    prep.add_argument("--language", metavar="L", default=None,
                      help="espeak-ng language of the transcripts, e.g. en-us "
                           "(default: data.language from the YAML)")
    prep.add_argument("--device", default="cpu",
                      help="device that runs the codec encoder, e.g. cpu or cuda (default: cpu)")
    prep.add_argument("--retry-failed", action="store_true",
                      help="retry files recorded in <output>/failed.jsonl by an earlier run")
    prep.add_argument("--manifest", action="store_true",
                      help="write <output>/manifest.json (sha256 of every shard; verified by "
                           "prepare and train from then on; an existing one is always kept current)")
    prep.add_argument("--quiet", action="store_true",
                      help="no progress bar and no summary line (skipped files are still "
                           "reported on stderr)")
    syn = sub.add_parser(
        "synthetic", help="write a small synthetic corpus (NOT speech) for tests and demos",
        description="Write a deterministic synthetic corpus in the <speaker>/<id>.wav + .txt "
                    "layout: per-character tones, learnable but not speech.",
    )
    syn.add_argument("--output", metavar="DIR", required=True, help="directory to write into")
    syn.add_argument("--speakers", metavar="N", type=int, default=2,
                     help="number of speakers (default: 2)")
    syn.add_argument("--utterances", metavar="N", type=int, default=8,
                     help="utterances per speaker (default: 8)")
    syn.add_argument("--sample-rate", metavar="HZ", type=int, default=24000,
                     help="sample rate of the wavs (default: 24000)")
    syn.add_argument("--seed", metavar="S", type=int, default=0,
                     help="random seed; the same seed writes the same files (default: 0)")
    return parser


def _run_prepare(args: argparse.Namespace) -> int:
    from vall_e.config import load_config

    config = load_config(args.yaml)  # before the heavy imports: a bad YAML fails in a blink
    from vall_e.data.prepare import prepare

    if args.language:
        config.data.language = args.language
    output = args.output or config.data.path
    if not output:
        raise ConfigError("no output directory: pass --output DIR or set data.path in the YAML")
    report = prepare(config, args.input, output, retry_failed=args.retry_failed,
                     progress=not args.quiet, device=args.device, manifest=args.manifest)
    if not args.quiet:
        print(report.summary())
    return 0


def _run_synthetic(args: argparse.Namespace) -> int:
    from vall_e.data.synthetic import make_synthetic_corpus

    if args.speakers <= 0 or args.utterances <= 0 or args.sample_rate <= 0:
        raise ConfigError("--speakers, --utterances and --sample-rate must be positive")
    out = make_synthetic_corpus(args.output, n_speakers=args.speakers,
                                n_utterances=args.utterances, sample_rate=args.sample_rate,
                                seed=args.seed)
    print(f"wrote {args.speakers * args.utterances} synthetic utterances (not speech) to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: sys.argv[1:]), run the command, return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return _run_prepare(args) if args.command == "prepare" else _run_synthetic(args)
    except VallEError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
