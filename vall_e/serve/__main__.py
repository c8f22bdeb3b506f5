"""`python -m vall_e.serve [--model DIR] [--host 127.0.0.1] [--port 8000] [--api-key KEY]`.

Argument parsing only: the flags build a ``ServeConfig``; ``create_app`` does the rest.
"""
from __future__ import annotations

import argparse
import sys

from vall_e.errors import VallEError
from vall_e.serve.config import DEFAULT_VOICES_DIR, ServeConfig


def build_parser() -> argparse.ArgumentParser:
    d = ServeConfig()
    p = argparse.ArgumentParser(prog="python -m vall_e.serve", description=(
        "An OpenAI-compatible speech server (POST /v1/audio/speech) with a web page at /."))
    p.add_argument("--model", help="checkpoint directory (default: the embedded default model)")
    p.add_argument("--device", default=d.device, help="auto (default), cpu, cuda, cuda:N")
    p.add_argument("--host", default=d.host, help="address to bind (default 127.0.0.1: this "
                   "machine only; 0.0.0.0 exposes it, then set --api-key)")
    p.add_argument("--port", type=int, default=d.port)
    p.add_argument("--api-key", help="require 'Authorization: Bearer KEY' on every route but "
                   "/health and the page's static files")
    p.add_argument("--voices-dir", default=d.voices_dir,
                   help=f"where uploaded speaker profiles are saved (default {DEFAULT_VOICES_DIR})")
    p.add_argument("--max-queue", type=int, default=d.max_queue,
                   help="requests that may wait behind the running one; more get 503")
    p.add_argument("--max-input-chars", type=int, default=d.max_input_chars)
    p.add_argument("--max-upload-bytes", type=int, default=d.max_upload_bytes)
    p.add_argument("--max-reference-seconds", type=float, default=d.max_reference_seconds)
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the model's decode passes at start-up (about a minute on "
                        "2 CPU cores, needs a C++ compiler; the default model's first audio comes "
                        "sooner, docs/serve.md)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from vall_e.cli.threads import default_wait_policy

    default_wait_policy()  # before torch loads: the CLI's bounded OpenMP spin (cli/threads.py)
    config = ServeConfig(
        model=args.model, device=args.device, host=args.host, port=args.port,
        api_key=args.api_key, voices_dir=args.voices_dir, max_queue=args.max_queue,
        max_input_chars=args.max_input_chars, max_upload_bytes=args.max_upload_bytes,
        max_reference_seconds=args.max_reference_seconds, threads=args.threads,
        compile=args.compile)
    try:
        import uvicorn

        from vall_e.serve.app import create_app
    except ImportError as exc:
        print(f"error: {exc.name} is missing: pip install -e '.[serve]'", file=sys.stderr)
        return 2
    try:
        app = create_app(config)  # loads the model on the worker thread, with config.threads
    except VallEError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=config.host, port=config.port, log_level=args.log_level,
                timeout_graceful_shutdown=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
