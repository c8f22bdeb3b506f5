"""How much of a warp or a spectral tilt put on its voice prompt does an AR+NAR model carry into
its speech? (vall_e.eval.prompt_transfer; 1 = all of it, 0 = none: the model speaks a voice it
recognises instead of the one its prompt carries.)

    python scripts/prompt_transfer.py --model vall_e/assets/default [--model CKPT2 ...] \
        --refs runs/dev/eval_unseen --sentences runs/dev/sentences.txt --change tilt [--seed 0]

--refs is a directory of reference wavs with same-name .txt transcripts (the evaluation
layout); every reference is used. Each model speaks --max-sentences sentences from each
reference as recorded and from each changed copy, with one seed. Prints one row per model.
The model's codec must be mel_rvq (the changes are made on its log-mel frames).
"""
import argparse
import sys
from dataclasses import replace

import torch

from vall_e.cli.common import run_main
from vall_e.errors import ConfigError
from vall_e.eval.prompt_transfer import changes_for, measure_prompt_transfer
from vall_e.eval.run import load_references, load_sentences
from vall_e.inference.loader import load_engine
from vall_e.training.voice_warp import VoiceWarper


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True,
                        help="AR+NAR checkpoint or package directory (repeatable)")
    parser.add_argument("--refs", required=True, help="reference wavs with .txt transcripts")
    parser.add_argument("--sentences", required=True, help="one sentence per line")
    parser.add_argument("--max-sentences", type=int, default=3)
    parser.add_argument("--change", choices=["warp", "tilt"], default="tilt")
    parser.add_argument("--factors", type=float, nargs="+", default=[0.85, 0.9, 1.1, 1.15],
                        help="warp factors (--change warp)")
    parser.add_argument("--curves", type=int, default=6, help="tilt curves (--change tilt)")
    parser.add_argument("--tilt-db", type=float, default=6.0, help="a tilt curve's largest gain")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if args.max_sentences < 1:
        raise ConfigError("--max-sentences must be at least 1")
    torch.set_num_threads(args.threads)
    refs = load_references(args.refs)
    sentences = load_sentences(args.sentences, args.max_sentences)
    changes = changes_for(args.change, args.factors, args.curves)
    print("| model | change | references | pairs | carried (mean) | sd |")
    print("|---|---|---|---|---|---|")
    for source in args.model:
        engine = load_engine(source, "cpu")
        if engine.codec.info.name != "mel_rvq":
            raise ConfigError(f"{source} speaks through {engine.codec.info.name}; the probe changes "
                              "mel_rvq log-mel frames: give a model over the mel_rvq codec")
        mel_model = engine.codec.model
        warper = VoiceWarper(mel_model, args.factors if args.change == "warp" else [], 0.0,
                             eq_probability=1.0 if args.change == "tilt" else 0.0,
                             eq_db=args.tilt_db, eq_count=args.curves, seed=args.seed)
        params = engine.default_sampling.with_changes(seed=args.seed)
        settings = engine.defaults
        levels = engine._levels(settings)
        speakers = [engine.create_speaker(ref.wav, transcript=ref.text) for ref in refs]

        def generate(index, prompt, _engine=engine, _speakers=speakers, _params=params):
            speaker = replace(_speakers[index], codes=prompt)  # the reference's voice, changed
            return list(_engine.synthesize_codes(sentences, speaker, _params, settings)[0])

        result = measure_prompt_transfer(generate, mel_model, [s.codes for s in speakers], changes,
                                         warper, levels)
        print(f"| {source} | {args.change} | {len(refs)} | {result.pairs} | {result.slope:+.2f} | "
              f"{result.spread:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
