"""Is any synthesized item much longer than the teacher's reading of the same sentence?

    python scripts/length_check.py --eval EVAL.json [EVAL2.json ...] --corpus runs/corpus/v1

For every item of ``python -m vall_e.eval --json`` output, the teacher (Kokoro or Piper, with
the speaker's own settings from the corpus's splits.json) reads the item's sentence; the table
gives the ratio of our audio's length to the teacher's (peak-trimmed the same way). Issue 20's
target: no ratio above 2. Needs ``pip install -e ".[data]"``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

from vall_e.audio import silence_bounds
from vall_e.data.corpus.teachers import SAMPLE_RATE, make_teachers


def teacher_seconds(teachers: dict, spec: dict, text: str) -> float:
    if spec["teacher"] == "kokoro":
        settings = {"weights": spec["weights"], "speed": spec.get("speed", 1.0)}
    else:
        settings = {"length_scale": spec.get("length_scale", 1.0), "noise_scale": 0.0,
                    "noise_w_scale": 0.0}
    wav = torch.from_numpy(teachers[spec["teacher"]].synthesize(text, settings))
    start, end = silence_bounds(wav, SAMPLE_RATE)
    return (end - start) / SAMPLE_RATE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", nargs="+", required=True, help="eval --json outputs")
    parser.add_argument("--corpus", required=True, help="the corpus directory (its splits.json)")
    args = parser.parse_args(argv)
    speakers = json.loads((Path(args.corpus) / "splits.json").read_text())["speakers"]
    teachers = make_teachers(threads=1)
    ratios, cache = [], {}
    for path in args.eval:
        for item in json.loads(Path(path).read_text())["items"]:
            if item.get("audio_seconds") is None:
                continue
            key = (item["speaker"], item["text"])
            if key not in cache:
                cache[key] = teacher_seconds(teachers, speakers[item["speaker"]], item["text"])
            ratios.append((item["audio_seconds"] / cache[key], item["speaker"], item["text"]))
    ratios.sort(reverse=True)
    print(f"items: {len(ratios)}; length / teacher's: median {statistics.median(r for r, *_ in ratios):.2f}, "
          f"max {ratios[0][0]:.2f}; over 2x: {sum(r > 2 for r, *_ in ratios)}")
    for ratio, speaker, text in ratios[:5]:
        print(f"  {ratio:5.2f}  {speaker:22s} {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
