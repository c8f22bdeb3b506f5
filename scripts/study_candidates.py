"""Would ranking level-0 candidates pay? Draw N per item, judge every one, see who picks well.

    python scripts/study_candidates.py draw --refs runs/dev/eval_seen --sentences runs/dev/sentences.txt \
        --candidates 4 --out runs/rank/seen.json
    python scripts/study_candidates.py rank runs/rank/seen.json --critic DIR [--critic DIR2] [--ctc FILE]

``draw`` speaks each (reference, sentence) of the eval protocol (one reference per speaker,
5 sentences, seed 1) ``--candidates`` times in one batch with the package's own settings,
decodes and judges every candidate with Whisper and Resemblyzer (``vall_e.eval``), and writes
their level-0 codes, durations and scores. ``rank`` then scores the saved candidates with
phoneme critics (``vall_e.align.critic``) and CTC recognizers (``scripts/train_ctc_ranker.py``)
and prints, for the first 2..N candidates, the WER
of the candidates' mean, of the Whisper oracle (the best a ranker could do) and of each
critic's pick. Nothing here is used at synthesis; it measures whether a ranker is worth it.
"""
from __future__ import annotations

import argparse
import json
import sys

import torch


def draw(args) -> None:
    from vall_e.eval.judges import Judges
    from vall_e.eval.metrics import edit_counts, similarities
    from vall_e.eval.run import (
        _others, embed_references, load_references, load_sentences, to_judge_rate,
    )
    from vall_e.inference import shared_prefix_decode as decode
    from vall_e.inference.engine import ARNAREngine
    from vall_e.sampling import TokenSampler, make_generator

    torch.set_num_threads(args.threads)
    engine = ARNAREngine.from_checkpoint(args.model, device="cpu")
    settings, params, model = engine.defaults, engine.default_sampling, engine.model
    levels, n = engine._levels(settings), args.candidates
    refs = load_references(args.refs, per_speaker=1)
    judges = Judges(threads=args.threads)
    embeddings = embed_references(refs, judges)
    rows = []
    for ref in refs:
        speaker = engine.create_speaker(ref.wav, transcript=ref.text, settings=settings)
        prompt = engine._prompt(speaker, settings)
        for text in load_sentences(args.sentences, 5):
            ids = engine.text_ids(text, settings)
            generator = make_generator(args.seed, "cpu")
            prefix = decode.encode_prefix(model, [ids] * n, [prompt] * n)
            lengths = decode.durations(model, prefix, engine.effective_speed(params),
                                       settings.max_ar_steps)
            codes = [torch.zeros(levels, int(d.sum()), dtype=torch.long) for d in lengths]
            windows = [decode.Window(0, 0, c.shape[1]) for c in codes]
            decode.fill_level0(model, prefix, [ids] * n, lengths, codes, windows,
                               TokenSampler(params, "ar", generator))
            decode.fill_levels(model, prefix, [ids] * n, lengths, codes, windows,
                               TokenSampler(params, "nar", generator), levels)
            candidates = []
            for code in codes:
                audio = to_judge_rate(engine.codec.decode_first(code[None], levels)[0].float(),
                                      engine.codec.sample_rate)
                row = {"level0": code[0].tolist(), **edit_counts(text, judges.transcribe(audio))}
                row.update(similarities(judges.embed(audio), embeddings[ref.name],
                                        _others(ref, refs, embeddings)))
                candidates.append(row)
            rows.append({"reference": ref.name, "text": text, "ids": ids.tolist(),
                         "durations": lengths[0].tolist(), "candidates": candidates})
            print(len(rows), [c["word_errors"] for c in candidates], file=sys.stderr, flush=True)
    with open(args.out, "w") as handle:
        json.dump(rows, handle)


def rank(args) -> None:
    from vall_e.align.critic import load_critic

    rows = json.load(open(args.study))
    critics = {name: load_critic(name) for name in args.critic}
    for path in args.ctc:
        sys.path.insert(0, "scripts")
        from train_ctc_ranker import CTCRecognizer

        saved = torch.load(path)
        critics[path] = CTCRecognizer(saved["n_tokens"])
        critics[path].load_state_dict(saved["state"])
        critics[path].eval()
    words = sum(r["candidates"][0]["words"] for r in rows)
    print(f"{len(rows)} items, {words} words; WER of the candidate each method keeps")
    print("| first N | candidates' mean | Whisper oracle | " + " | ".join(critics) + " |")
    print("|---|---|---|" + "---|" * len(critics))
    for row in rows:
        text, durations = torch.tensor(row["ids"]), torch.tensor(row["durations"])
        for candidate in row["candidates"]:
            candidate["scores"] = {name: critic.score(torch.tensor(candidate["level0"]), text,
                                                      durations)
                                   for name, critic in critics.items()}
    for n in range(2, len(rows[0]["candidates"]) + 1):
        mean = sum(sum(c["word_errors"] for c in r["candidates"][:n]) / n for r in rows) / words
        oracle = sum(min(c["word_errors"] for c in r["candidates"][:n]) for r in rows) / words
        picks = [sum(max(r["candidates"][:n], key=lambda c: c["scores"][name])["word_errors"]
                     for r in rows) / words for name in critics]
        print(f"| {n} | {mean:.1%} | {oracle:.1%} | " + " | ".join(f"{p:.1%}" for p in picks) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("draw", help="draw, decode and judge N candidates per item")
    d.add_argument("--model", default="vall_e/assets/default")
    d.add_argument("--refs", required=True)
    d.add_argument("--sentences", required=True)
    d.add_argument("--candidates", type=int, default=4)
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--threads", type=int, default=1)
    d.add_argument("--out", required=True)
    r = sub.add_parser("rank", help="score saved candidates with phoneme critics")
    r.add_argument("study")
    r.add_argument("--critic", action="append", default=[])
    r.add_argument("--ctc", action="append", default=[], help="a scripts/train_ctc_ranker.py file")
    args = parser.parse_args(argv)
    draw(args) if args.command == "draw" else rank(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
