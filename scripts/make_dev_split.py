"""A development split for choosing decoding settings without touching the evaluation items.

    python scripts/make_dev_split.py --refs runs/corpus/v1/eval_seen runs/corpus/v1/eval_unseen \
        --sentences data/eval/sentences.txt --out runs/dev

The evaluation protocol (docs/default-model.md) speaks sentences 1-5 of the sentences file with
each speaker's first reference (``--per-speaker 1``, sorted). The dev split takes sentences
11-15 and each speaker's *second* reference, so nothing it is scored on is an evaluation item:
``runs/dev/sentences.txt`` and ``runs/dev/<split>/<speaker>/`` (links to the wav, transcript and
timing files). Score a setting on it with ``python -m vall_e.eval --sentences runs/dev/sentences.txt
--refs runs/dev/eval_seen --per-speaker 1 --max-sentences 5 ...``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

FIRST_SENTENCE, N_SENTENCES, REFERENCE_INDEX = 10, 5, 1  # 0-based: sentences 11-15, 2nd reference


def make_dev_split(refs: list[str], sentences: str, out: str) -> list[Path]:
    """Write the dev split under ``out``; returns the reference wavs it links."""
    lines = [line.strip() for line in Path(sentences).read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    chosen = lines[FIRST_SENTENCE:FIRST_SENTENCE + N_SENTENCES]
    if len(chosen) < N_SENTENCES:
        raise SystemExit(f"error: {sentences} has {len(lines)} sentences; the dev split needs "
                         f"{FIRST_SENTENCE + N_SENTENCES} (it uses sentences 11-15)")
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "sentences.txt").write_text("\n".join(chosen) + "\n", encoding="utf-8")
    linked = []
    for split in map(Path, refs):
        if not split.is_dir():
            raise SystemExit(f"error: references directory not found: {split}")
        for speaker in sorted(p for p in split.iterdir() if p.is_dir()):
            wavs = sorted(speaker.glob("*.wav"))
            if len(wavs) <= REFERENCE_INDEX:
                raise SystemExit(f"error: {speaker} has {len(wavs)} reference(s); the dev split "
                                 "takes each speaker's second one")
            wav = wavs[REFERENCE_INDEX]
            target = out_dir / split.name / speaker.name
            target.mkdir(parents=True, exist_ok=True)
            for source in speaker.glob(wav.stem + ".*"):
                link = target / source.name
                if link.is_symlink() or link.exists():
                    link.unlink()
                link.symlink_to(source.resolve())
            linked.append(wav)
    return linked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refs", nargs="+", required=True, help="evaluation reference directories")
    parser.add_argument("--sentences", required=True, help="the evaluation sentences file")
    parser.add_argument("--out", required=True, help="where the dev split is written")
    args = parser.parse_args(argv)
    linked = make_dev_split(args.refs, args.sentences, args.out)
    print(f"wrote {args.out}: {N_SENTENCES} sentences, {len(linked)} references")
    return 0


if __name__ == "__main__":
    sys.exit(main())
