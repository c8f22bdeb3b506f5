"""Benchmark `python -m vall_e.serve` on loopback: time to first byte, RTF and throughput at
1, 4 and 16 concurrent clients.

    python scripts/bench_serve.py                      # the embedded default model
    python scripts/bench_serve.py --model DIR --threads 2

It starts the server itself on a free 127.0.0.1 port, sends one warm-up request (the voice's
reference is encoded once and cached), then for each concurrency level a fixed number of
streamed pcm requests, and stops. The server runs one job at a time, so more clients raise
latency (they queue) while throughput stays what one synthesis at a time gives.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vall_e.serve.launch import ServerProcess  # noqa: E402
from vall_e.serve.loadtest import percentile, run_load  # noqa: E402

TEXT = ("The quick brown fox jumps over the lazy dog near the bank of the river. "
        "Then it rests in the shade of an old tree.")


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="checkpoint directory (default: the embedded default)")
    p.add_argument("--threads", type=int, help="torch threads of the server")
    p.add_argument("--compile", action="store_true", help="start the server with --compile")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--requests", type=int, help="requests per level (default: max(4, clients))")
    p.add_argument("--voice", default="kumo")
    p.add_argument("--text", default=TEXT)
    return p.parse_args()


def level(url: str, args, clients: int) -> dict:
    n = args.requests or max(4, clients)
    body = {"input": args.text, "voice": args.voice, "response_format": "pcm", "stream": True}
    start = time.perf_counter()
    results = run_load(url, lambda i: {**body, "seed": i}, n, clients, timeout=3600)
    wall = time.perf_counter() - start
    bad = [r for r in results if r.status != 200]
    if bad:
        raise SystemExit(f"{len(bad)} of {n} requests failed: {bad[0].status} {bad[0].body[:200]!r}")
    audio = sum(r.audio_seconds for r in results)
    return {"clients": clients, "requests": n,
            "ttfb_p50": percentile([r.first_byte for r in results], 50),
            "ttfb_p95": percentile([r.first_byte for r in results], 95),
            "latency_p50": percentile([r.seconds for r in results], 50),
            "latency_p95": percentile([r.seconds for r in results], 95),
            "rtf": statistics.mean(r.seconds / r.audio_seconds for r in results),
            "throughput": audio / wall, "rps": n / wall}


def main() -> int:
    args = parse()
    server_args = (["--model", args.model] if args.model else []) + \
        (["--threads", str(args.threads)] if args.threads else []) + \
        (["--compile"] if args.compile else []) + \
        ["--max-queue", str(max(args.concurrency) + 1), "--log-level", "warning"]
    with ServerProcess(server_args, startup_timeout=600) as server:
        run_load(server.url, lambda i: {"input": "Warm up.", "voice": args.voice,
                                        "response_format": "pcm"}, 1, 1)
        rows = [level(server.url, args, c) for c in args.concurrency]
    print("| clients | requests | TTFB p50 / p95 (s) | latency p50 / p95 (s) | RTF per request "
          "| throughput (audio s / s) | requests / s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clients']} | {r['requests']} | {r['ttfb_p50']:.2f} / {r['ttfb_p95']:.2f} "
              f"| {r['latency_p50']:.2f} / {r['latency_p95']:.2f} | {r['rtf']:.2f} "
              f"| {r['throughput']:.2f} | {r['rps']:.2f} |")
    print("RTF per request: a request's wall time (queueing included) / its audio length.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
