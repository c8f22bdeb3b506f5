"""``python -m vall_e.align train --data DIR --out DIR [--steps N]`` trains the aligner on
prepared shards; ``python -m vall_e.align eval --aligner DIR --data DIR`` prints its mean
boundary error against the shards' teacher durations; ``python -m vall_e.align critic --model
MODEL --data DIR --out DIR`` trains the phoneme critic that ranks a durations model's level-0
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
        else:
            report = _evaluate(args.aligner, args.data, args.limit)
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


def _evaluate(aligner_dir: str, data_dir: str, limit: int) -> dict:
    from pathlib import Path

    from vall_e.align.model import load_aligner
    from vall_e.align.train import VOCAB_FILE, boundary_error_ms
    from vall_e.data.shards import load_prepared
    from vall_e.text.tokenizer import PhonemeTokenizer

    aligner = load_aligner(aligner_dir)
    tokenizer = PhonemeTokenizer.load(Path(aligner_dir) / VOCAB_FILE)
    info, utterances = load_prepared(data_dir)
    items = [u for u in utterances if u.durations is not None][:limit]
    return {"items": len(items),
            "boundary_error_ms": round(boundary_error_ms(aligner, tokenizer, items, info.frame_rate), 2)}


if __name__ == "__main__":
    sys.exit(main())
