"""Where a long text's word errors come from: the model, batching, or the judge's long-form pass.

    python scripts/paragraph_wer.py --refs runs/corpus/v1/eval_unseen [--model DIR] \
        [--text data/eval/paragraph.txt] [--seeds 1 2] [--batch-sizes 1 4] [--threads 2]

For every reference (one per speaker), seed and batch size the text is spoken whole through
``vall_e.inference.long_form.speak`` (what the CLI and the Interface do), then Whisper judges it
two ways: the whole recording in one long-form pass (how the card measured the paragraph), and
each synthesized piece on its own (how the evaluation judges single sentences). Prints a table
of both WERs per row and their totals per batch size, so that

* whole vs. per piece says what Whisper's 30 s windows cost (a piece cut at a window edge), and
* batch size 1 vs. 4 says whether synthesizing pieces together costs words.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch


def score(text: str, hypothesis: str) -> tuple[int, int]:
    from vall_e.eval.metrics import edit_counts

    found = edit_counts(text, hypothesis)
    return found["word_errors"], found["words"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refs", required=True, help="evaluation split: <speaker>/<id>.wav + .txt")
    parser.add_argument("--model", default=None, help="checkpoint (default: the embedded default)")
    parser.add_argument("--text", default="data/eval/paragraph.txt")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save", default=None, help="folder for the wavs (optional)")
    parser.add_argument("--judges", choices=("whisper", "quick"), default="whisper",
                        help="quick: the smoke-test stand-ins (no Whisper to load)")
    args = parser.parse_args(argv)

    from vall_e.audio import save_audio
    from vall_e.default_model import default_model_dir
    from vall_e.eval.judges import make_judges
    from vall_e.eval.run import load_references, to_judge_rate
    from vall_e.inference.loader import load_engine
    from vall_e.inference.long_form import speak

    torch.set_num_threads(args.threads)
    text = Path(args.text).read_text().strip()
    engine = load_engine(args.model or default_model_dir(), "cpu")
    params, settings = engine.default_sampling, engine.defaults
    judges = make_judges(args.judges, threads=args.threads)
    refs = load_references(args.refs, per_speaker=1)

    print("| reference | seed | batch | seconds | WER whole | WER per piece |\n|---|---|---|---|---|---|")
    totals: dict[int, list[int]] = {}
    for ref in refs:
        speaker = engine.create_speaker(ref.wav, transcript=ref.text, settings=settings)
        for seed in args.seeds:
            for batch in args.batch_sizes:
                torch.manual_seed(seed)
                spoken = speak(engine, text, speaker, params, settings, batch_size=batch)
                whole = score(text, judges.transcribe(to_judge_rate(spoken.audio, spoken.sample_rate)))
                pieces = [score(piece, judges.transcribe(to_judge_rate(r.audio, r.sample_rate)))
                          for piece, r in zip(spoken.pieces, spoken.results)]
                piece_errors, words = sum(e for e, _ in pieces), sum(n for _, n in pieces)
                if args.save:
                    save_audio(Path(args.save) / f"{ref.speaker}-s{seed}-b{batch}.wav",
                               spoken.audio, spoken.sample_rate)
                seconds = spoken.audio.numel() / spoken.sample_rate
                print(f"| {ref.speaker} | {seed} | {batch} | {seconds:.1f} | "
                      f"{whole[0] / whole[1]:.1%} | {piece_errors / words:.1%} |", flush=True)
                total = totals.setdefault(batch, [0, 0, 0, 0])
                for i, value in enumerate((*whole, piece_errors, words)):
                    total[i] += value
    for batch, (we, wn, pe, pn) in sorted(totals.items()):
        print(f"batch {batch}: WER whole {we / wn:.1%}, per piece {pe / pn:.1%} "
              f"({len(refs)} voices x {len(args.seeds)} seeds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
