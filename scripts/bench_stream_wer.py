"""Does streaming within a sentence cost intelligibility? Streamed vs one-pass audio, same seed.

    python scripts/bench_stream_wer.py --refs runs/corpus/v1/eval_unseen [--model DIR] [--sentences 5]

Each held-out sentence is spoken in each reference voice twice with the same sampler seed:
once by ``ARNAREngine.synthesize`` (one pass) and once by ``ARNAREngine.stream`` (chunks
joined); Whisper base scores both. Prints WER/CER of each, and the time to the first streamed
chunk (median, warm).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace

import torch

from vall_e.eval.judges import Judges
from vall_e.eval.metrics import edit_counts
from vall_e.eval.run import load_references, load_sentences, to_judge_rate
from vall_e.inference.engine import ARNAREngine
from vall_e.sampling import SamplingParams


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vall_e/assets/default")
    parser.add_argument("--refs", required=True)
    parser.add_argument("--sentences", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--levels", type=int, help="codec levels (default: the model's)")
    parser.add_argument("--stream-levels", type=int,
                        help="codec levels of the streamed windows (default: the model's)")
    parser.add_argument("--first-steps", type=int,
                        help="level-0 passes of the stream's first window (default: the model's "
                             "inference.stream_first_steps, else its level0_steps)")
    parser.add_argument("--lookahead", type=int,
                        help="frames each stream window draws past what it commits (default: the "
                             "model's inference.stream_lookahead, else 12)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    engine = ARNAREngine.from_checkpoint(args.model, device="cpu")
    if args.levels is not None:
        engine.defaults = replace(engine.defaults, levels=args.levels)
    if args.stream_levels is not None:
        engine.defaults = replace(engine.defaults, stream_levels=args.stream_levels)
    if args.lookahead is not None:
        engine.defaults = replace(engine.defaults, stream_lookahead=args.lookahead)
    if args.first_steps is not None:
        engine.defaults = replace(engine.defaults, stream_first_steps=args.first_steps)
    judges = Judges(threads=args.threads)
    sentences = load_sentences("data/eval/sentences.txt", args.sentences)
    refs = load_references(args.refs, per_speaker=1)
    errors = {"one-pass": [], "streamed": []}
    firsts = []
    for ref in refs:
        speaker = engine.speaker_for(ref.wav, SamplingParams(), engine.defaults, ref.text)
        for seed, text in enumerate(sentences):
            params = replace(engine.default_sampling, seed=seed)
            (whole,) = engine.synthesize([text], speaker, params)
            start, chunks = time.perf_counter(), []
            for chunk in engine.stream(text, speaker, params):
                if not chunks:
                    firsts.append(time.perf_counter() - start)
                chunks.append(chunk)
            for name, audio in (("one-pass", whole.audio), ("streamed", torch.cat(chunks))):
                hypothesis = judges.transcribe(to_judge_rate(audio, engine.codec.sample_rate))
                errors[name].append(edit_counts(text, hypothesis))
    for name, rows in errors.items():
        wer = sum(r["word_errors"] for r in rows) / sum(r["words"] for r in rows)
        cer = sum(r["char_errors"] for r in rows) / sum(r["chars"] for r in rows)
        print(f"{name:9s} items {len(rows)}  WER {wer:.1%}  CER {cer:.1%}")
    print(f"levels {engine._levels(engine.defaults)} (streams "
          f"{engine._stream_levels(engine.defaults)}), stream first window: "
          f"{engine.defaults.stream_first_steps or engine.model.config.level0_steps} level-0 passes, "
          f"lookahead {engine.defaults.stream_lookahead if engine.defaults.stream_lookahead is not None else 'default (12)'} frames")
    print(f"first streamed chunk: median {statistics.median(firsts) * 1000:.0f} ms "
          f"(max {max(firsts) * 1000:.0f} ms, {args.threads} threads, the first item includes warm-up)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
