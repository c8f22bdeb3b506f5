"""``python -m vall_e.align train --data DIR --out DIR [--steps N]`` trains the aligner on
prepared shards; ``python -m vall_e.align eval --aligner DIR --data DIR`` prints its mean
boundary error against the shards' teacher durations on the items training held out (with and
without its calibrated shift); ``python -m vall_e.align calibrate --aligner DIR --data DIR``
chooses that shift again on the training side of the shards and writes it into the aligner;
``python -m vall_e.align critic --model MODEL --data DIR --out DIR`` trains the phoneme critic that ranks a durations model's level-0
candidates (``vall_e.align.critic``), on the model's own text ids. Errors are one line, exit
status 2."""
from __future__ import annotations

import argparse
import json
import sys

from vall_e.errors import VallEError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vall_e.align",
                                     description="the learned phoneme aligner (no teacher needed)")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train on prepared shards")
    train.add_argument("--data", required=True)
    train.add_argument("--out", required=True)
    train.add_argument("--steps", type=int, default=1500)
    train.add_argument("--batch-size", type=int, default=16)
    train.add_argument("--seed", type=int, default=0)
    evaluate = sub.add_parser("eval", help="boundary error against the shards' teacher durations")
    evaluate.add_argument("--aligner", required=True)
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--limit", type=int, default=200, help="utterances to measure")
    evaluate.add_argument("--all", action="store_true",
                          help="measure on every timed utterance, not only the held-out ones "
                               "(for shards the aligner was not trained on)")
    calibrate = sub.add_parser("calibrate", help="choose the boundary shift on teacher durations")
    calibrate.add_argument("--aligner", required=True)
    calibrate.add_argument("--data", required=True, help="prepared shards with teacher durations")
    critic = sub.add_parser("critic", help="train the phoneme critic for a model's candidates")
    critic.add_argument("--model", required=True,
                        help="the TTS model directory whose text ids the critic learns")
    critic.add_argument("--data", required=True, help="prepared shards with durations")
    critic.add_argument("--out", required=True)
    critic.add_argument("--steps", type=int, default=1200)
    critic.add_argument("--batch-size", type=int, default=24)
    critic.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            from vall_e.align.train import train_aligner

            report = train_aligner(args.data, args.out, steps=args.steps,
                                   batch_size=args.batch_size, seed=args.seed)
        elif args.command == "critic":
            report = _train_critic(args)
        elif args.command == "calibrate":
            report = _calibrate(args.aligner, args.data)
        else:
            report = _evaluate(args.aligner, args.data, args.limit, args.all)
    except VallEError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=1))
    return 0


def _train_critic(args) -> dict:
    from pathlib import Path

    from vall_e.align.critic import train_critic
    from vall_e.models.checkpoint import VOCAB_FILE
    from vall_e.text.tokenizer import PhonemeTokenizer

    vocab = Path(args.model) / VOCAB_FILE
    if not vocab.is_file():
        from vall_e.errors import ConfigError

        raise ConfigError(f"{args.model}: no {VOCAB_FILE}; --model must be a TTS model directory")
    return train_critic(args.data, args.out, PhonemeTokenizer.load(vocab), steps=args.steps,
                        batch_size=args.batch_size, seed=args.seed)


def _load(aligner_dir: str):
    from pathlib import Path

    from vall_e.align.model import load_aligner
    from vall_e.align.train import VOCAB_FILE
    from vall_e.text.tokenizer import PhonemeTokenizer

    return load_aligner(aligner_dir), PhonemeTokenizer.load(Path(aligner_dir) / VOCAB_FILE)


def _evaluate(aligner_dir: str, data_dir: str, limit: int, every_item: bool) -> dict:
    from vall_e.align.train import aligner_split, boundary_error_ms

    aligner, tokenizer = _load(aligner_dir)
    info, train, val = aligner_split(data_dir)
    items = [u for u in (train + val if every_item else val) if u.durations is not None][:limit]
    shifted, unshifted = boundary_error_ms(aligner, tokenizer, items, info.frame_rate)
    return {"items": len(items), "held_out": not every_item,
            "boundary_shift": aligner.config.boundary_shift,
            "boundary_error_ms": round(shifted, 2),
            "boundary_error_ms_unshifted": round(unshifted, 2)}


def _calibrate(aligner_dir: str, data_dir: str) -> dict:
    from vall_e.align.model import save_aligner
    from vall_e.align.train import CALIBRATION_ITEMS, aligner_split, calibrate_shift

    aligner, tokenizer = _load(aligner_dir)
    _, train, _ = aligner_split(data_dir)
    before = aligner.config.boundary_shift
    aligner.config.boundary_shift = calibrate_shift(aligner, tokenizer, train[:CALIBRATION_ITEMS])
    save_aligner(aligner, aligner_dir)
    return {"boundary_shift": aligner.config.boundary_shift, "was": before,
            "calibrated_on": min(CALIBRATION_ITEMS, len(train))}


if __name__ == "__main__":
    sys.exit(main())
