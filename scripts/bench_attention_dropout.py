"""Why model.attention_dropout defaults to 0: one attention call, forward + backward, on CPU.

    python scripts/bench_attention_dropout.py [--batch 16] [--positions 1000]

Any dropout on the attention weights sends scaled_dot_product_attention to its math path, which
materializes (and keeps for backward) a B x H x T x T probability tensor; without it the fused
CPU kernel runs. Prints seconds and peak-RSS growth per configuration (each in a fresh process).
"""
import argparse
import resource
import subprocess
import sys
import time

import torch
import torch.nn.functional as F


def one_call(batch: int, heads: int, positions: int, head_dim: int, dropout: float, bf16: bool) -> float:
    shape = (batch, heads, positions, head_dim)
    q, k, v = (torch.randn(shape, requires_grad=True) for _ in range(3))
    mask = torch.ones(positions, positions, dtype=torch.bool).tril()[None, None]
    mask = mask.expand(batch, 1, positions, positions).contiguous()  # padding masks are per item
    start = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
    out.float().sum().backward()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--positions", type=int, default=1000)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--child", nargs=2, metavar=("DROPOUT", "BF16"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        seconds = min(one_call(args.batch, args.heads, args.positions, args.head_dim,
                               float(args.child[0]), args.child[1] == "1") for _ in range(2))
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        print(f"{seconds:.2f} {grown:.0f}")
        return
    print(f"batch {args.batch}, {args.heads} heads, {args.positions} positions, head dim {args.head_dim}")
    print("| attention dropout | autocast | seconds (fwd+bwd) | peak RSS growth MiB |")
    print("|---|---|---|---|")
    for dropout in (0.1, 0.0):
        for bf16 in ("0", "1"):
            out = subprocess.run(
                [sys.executable, __file__, "--batch", str(args.batch), "--heads", str(args.heads),
                 "--positions", str(args.positions), "--head-dim", str(args.head_dim),
                 "--child", str(dropout), bf16], capture_output=True, text=True, check=True)
            seconds, grown = out.stdout.split()
            print(f"| {dropout} | {'bf16' if bf16 == '1' else 'fp32'} | {seconds} | {grown} |")


if __name__ == "__main__":
    main()
