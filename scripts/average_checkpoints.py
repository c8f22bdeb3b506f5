"""Average the weights of AR+NAR checkpoints that share one architecture (a "model soup").

    python scripts/average_checkpoints.py --out DIR CKPT CKPT [CKPT ...] [--weights 1 1 2]

Checkpoints fine-tuned from the same weights (steps of one run, or runs that differ in batch,
learning rate or dropout) usually sit in one basin, where their mean scores at least as well as
the parts and often better. The result keeps the first checkpoint's config, vocabulary and step.
"""
from __future__ import annotations

import argparse
import sys

import torch


def average_state(states: list[dict], weights: list[float]) -> dict:
    """The weighted mean of float tensors; other tensors (counters, buffers of ints) must agree."""
    if len(states) != len(weights):
        raise SystemExit(f"{len(states)} checkpoints but {len(weights)} weights")
    names = set(states[0])
    for state in states[1:]:
        if set(state) != names:
            raise SystemExit("the checkpoints have different tensors: they are not one architecture")
    total = float(sum(weights))
    averaged = {}
    for name, first in states[0].items():
        if any(state[name].shape != first.shape for state in states):
            raise SystemExit(f"tensor {name} has different shapes across the checkpoints")
        if first.is_floating_point():
            averaged[name] = sum(w / total * state[name].float() for w, state in zip(weights, states)).to(first.dtype)
        elif all(torch.equal(state[name], first) for state in states):
            averaged[name] = first
        else:
            raise SystemExit(f"non-float tensor {name} differs across the checkpoints")
    return averaged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", help="checkpoint directories")
    parser.add_argument("--out", required=True, help="directory to write")
    parser.add_argument("--weights", nargs="+", type=float, help="one per checkpoint (default: equal)")
    args = parser.parse_args(argv)
    if len(args.checkpoints) < 2:
        raise SystemExit("give at least two checkpoints to average")
    from vall_e.checkpoint import load_checkpoint, save_like, weights_module

    loaded = [load_checkpoint(path) for path in args.checkpoints]
    states = [weights_module(c).state_dict() for c in loaded]
    averaged = average_state(states, args.weights or [1.0] * len(states))
    weights_module(loaded[0]).load_state_dict(averaged)
    out = save_like(loaded[0], args.out)
    print(f"wrote {out}: the mean of {len(states)} checkpoints")
    return 0


if __name__ == "__main__":
    sys.exit(main())
