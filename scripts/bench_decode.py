"""Time per AR decoding step at growing lengths: with the KV cache it should stay flat.

    python scripts/bench_decode.py [--d-model 256 --layers 6 --heads 4 --lengths 100 500 1000]

Prints a table: sequence length, ms per step (mean over 20 steps around that length), and the
ratio to the first length. Without a cache, a step would cost O(length) full passes instead.
"""
from __future__ import annotations

import argparse
import time

import torch

from vall_e.config import ModelConfig
from vall_e.models.ar_nar import ARNARModel
from vall_e.models.layers import KVCache


def measure(model: ARNARModel, lengths: list[int], window: int = 20) -> dict[int, float]:
    prefix = torch.randn(1, 32, model.config.d_model)
    cache = KVCache(len(model.blocks))
    ones = lambda n: torch.ones(1, n, dtype=torch.bool)
    times: dict[int, list[float]] = {n: [] for n in lengths}
    with torch.inference_mode():
        model.hidden_states(prefix, torch.arange(32)[None], ones(32), causal=True, cache=cache)
        position = 32
        token = torch.zeros(1, dtype=torch.long)
        while position < max(lengths) + window:
            start = time.perf_counter()
            x = model.code_embeddings[0](token)[:, None]
            hidden = model.hidden_states(x, torch.tensor([[position]]), ones(1), causal=True, cache=cache)
            token = model.level_logits(hidden[:, -1], 0).argmax(-1).clamp(max=model.codebook_size - 1)
            elapsed = time.perf_counter() - start
            for n in lengths:
                if n - window // 2 <= position < n + window // 2:
                    times[n].append(elapsed)
            position += 1
    return {n: 1000 * sum(t) / len(t) for n, t in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--levels", type=int, default=8)
    p.add_argument("--lengths", type=int, nargs="+", default=[100, 500, 1000])
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = ModelConfig(d_model=args.d_model, n_layers=args.layers, n_heads=args.heads, dropout=0.0)
    model = ARNARModel(config, 128, args.levels, 1024).eval()
    params = sum(p.numel() for p in model.parameters()) / 1e6
    measure(model, [50], window=10)  # warm-up
    results = measure(model, args.lengths)
    first = results[args.lengths[0]]
    print(f"AR decode step, batch 1, {params:.1f} M params, {torch.get_num_threads()} threads")
    print(f"{'length':>8} | {'ms/step':>8} | {'vs first':>8}")
    print(f"{'-' * 8}-+-{'-' * 8}-+-{'-' * 8}")
    for n, ms in results.items():
        print(f"{n:>8} | {ms:>8.2f} | {ms / first:>8.2f}")


if __name__ == "__main__":
    main()
