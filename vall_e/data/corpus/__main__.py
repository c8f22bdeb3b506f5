"""``python -m vall_e.data.corpus --yaml RECIPE [--output DIR] [--limit N] [--quiet]``.

The project keeps argument parsing in ``vall_e.cli``; this entry point is self-contained for now
because it has one command and five flags. Any ``VallEError`` is one ``error: ...`` line on
stderr with exit status 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vall_e.errors import VallEError


def _worker(value: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in value.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N such as 0/2, got {value!r}") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"expected 0 <= I < N, got {value!r}")
    return index, count


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m vall_e.data.corpus",
        description="Synthesize a multi-speaker English corpus offline with the teacher voices "
                    "(Kokoro-82M and its blends, Piper joe). Deterministic and resumable: rerun "
                    "the same command to continue.",
    )
    parser.add_argument("--yaml", metavar="RECIPE", required=True,
                        help="corpus recipe, e.g. recipes/corpus/default.yaml")
    parser.add_argument("--output", metavar="DIR", default=None,
                        help="directory to write (default: runs/corpus/<recipe name>)")
    parser.add_argument("--limit", metavar="N", type=int, default=None,
                        help="make at most N missing items this run (evaluation items first)")
    parser.add_argument("--worker", metavar="I/N", default="0/1", type=_worker,
                        help="make only every N-th item starting at I (run N processes, "
                             "I = 0..N-1, to use N cores)")
    parser.add_argument("--skip-prepared", metavar="SHARDS", default=None,
                        help="a shard directory made by 'python -m vall_e.data prepare' from "
                             "this corpus: items already in it are not made again (extends a "
                             "corpus whose audio was deleted after prepare)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from vall_e.data.corpus import CorpusRecipe, build_corpus

        recipe = CorpusRecipe.from_yaml(args.yaml)
        output = Path(args.output or Path("runs") / "corpus" / Path(args.yaml).stem)
        report = build_corpus(recipe, output, limit=args.limit, quiet=args.quiet,
                              worker=args.worker, skip_prepared=args.skip_prepared)
    except VallEError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not args.quiet:
        hours = report["hours"]
        cover = report["phonemes"]["train_items"]
        print(json.dumps({
            "output": str(output), "complete": report["complete"],
            "items": f"{report['items_done']}/{report['items_planned']}",
            "failed": report["items_failed"], "hours": hours,
            "speakers": {k: report["speakers"][k] for k in ("train", "heldout")},
            "phones_covered": f"{cover['covered']}/{cover['inventory_size']}",
            "min_phone_count": cover["min_count"], "rtf": report["generation"].get("rtf"),
        }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
