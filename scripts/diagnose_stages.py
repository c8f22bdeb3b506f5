"""Which stage of an AR+NAR checkpoint makes its speech unintelligible? Whisper CER per stage
on the validation items of the prepared data it trained on.

    python scripts/diagnose_stages.py --model runs/default/checkpoints/step-0004250 \
        --data runs/default-data [--items 4] [--ar-temp 0.8] [--threads 1]

Stages, each decoded by the checkpoint's codec and transcribed by Whisper base:
- ``codec``: the item's own codes (the ceiling: what the codec loses);
- ``nar``: the item's own level 0, levels 1..K-1 from the NAR (what the NAR loses);
- ``ar-forced``: level 0 = the AR's best guess for each frame given the item's true frames
  before it (teacher forcing), then the NAR: what the AR knows of the text. Far better than
  ``ar+nar`` means the AR loses its way on its own history (exposure bias);
- ``ar+nar``: level 0 from the AR (item's text, prompt from another utterance of its speaker),
  then the NAR: full synthesis, as ``python -m vall_e`` does it. With aligned positions the AR
  reads at the model's average speaking rate, or with ``--oracle-rate`` at the item's own
  (what a reference transcript of the same pace would give: does the model read when the
  pace is right?).

With ``--levels 8 2 1`` every stage is also decoded from only its first L levels (the codec's
residual prefix), which shows whether the NAR's upper levels help or hurt (``--levels`` of
``python -m vall_e``).

If ``nar`` is close to ``codec`` and ``ar+nar`` is far off, the AR is the problem.
"""
import argparse
import sys

import torch

from vall_e.cli.common import run_main
from vall_e.codecs import get_codec
from vall_e.data.shards import load_prepared
from vall_e.errors import ConfigError
from vall_e.eval.judges import make_judges
from vall_e.eval.metrics import edit_counts
from vall_e.eval.run import to_judge_rate
from vall_e.eval.text_reliance import teacher_forced_level0
from vall_e.inference.ar_nar_decode import generate_ar, generate_nar
from vall_e.models.checkpoint import load_checkpoint
from vall_e.sampling import SamplingParams, TokenSampler
from vall_e.training.dataset import TTSDataset, split_train_val

STAGES = ("codec", "nar", "ar-forced", "ar+nar")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="AR+NAR checkpoint directory")
    parser.add_argument("--data", required=True, help="prepared data directory the model trained on")
    parser.add_argument("--items", type=int, default=4, help="validation items decoded")
    parser.add_argument("--ar-temp", type=float, default=1.0, help="AR temperature (0 = greedy)")
    parser.add_argument("--max-seconds", type=float, default=8.0,
                        help="skip validation items longer than this (keeps the run short)")
    parser.add_argument("--oracle-rate", action="store_true",
                        help="aligned positions: read at each item's own frames per text token")
    parser.add_argument("--levels", type=int, nargs="+", default=None,
                        help="level counts each stage is decoded at (default: all levels)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    if args.items < 1:
        raise ConfigError("--items must be at least 1")
    torch.set_num_threads(args.threads)
    loaded = load_checkpoint(args.model)
    model = loaded.model.eval()
    codec = get_codec(loaded.config.codec)
    level_counts = args.levels or [model.n_levels]
    for count in level_counts:
        if not 1 <= count <= model.n_levels:
            raise ConfigError(f"--levels {count}: must be between 1 and {model.n_levels}")
        if count < model.n_levels and not codec.residual:
            raise ConfigError(f"--levels {count}: {codec.name} codes are not residual levels")
    stages = [f"{stage}@{count}" if args.levels else stage for count in level_counts for stage in STAGES]
    info, utterances = load_prepared(args.data)
    _, val = split_train_val(utterances, loaded.config.data.val_fraction)
    val = [u for u in val if u.n_frames <= args.max_seconds * info.frame_rate][: args.items]
    frames = max(1, round(loaded.config.data.prompt_seconds * info.frame_rate))
    dataset = TTSDataset(val, loaded.tokenizer, frames, seed=1, deterministic=True)
    judges = make_judges("whisper", threads=args.threads)
    params = SamplingParams(ar_temp=args.ar_temp, seed=args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    errors = {stage: [0, 0] for stage in stages}
    print("| item | stage | frames | CER | transcript |")
    print("|---|---|---|---|---|")
    for index, utterance in enumerate(val):
        example = dataset[index]
        with torch.inference_mode():
            (nar_codes,) = generate_nar(model, [example.text], [example.prompt], [example.codes[0]],
                                        TokenSampler(params, "nar", generator))
            rate = (model.speaking_rate(len(example.text), example.codes.shape[1])
                    if args.oracle_rate else None)
            level0, _, _ = generate_ar(model, [example.text], [example.prompt],
                                       TokenSampler(params, "ar", generator, model.stop_token),
                                       max_steps=int(2 * example.codes.shape[1]) + 50, rates=[rate])
            (full,) = generate_nar(model, [example.text], [example.prompt], level0,
                                   TokenSampler(params, "nar", generator))
            (forced,) = generate_nar(model, [example.text], [example.prompt],
                                     [teacher_forced_level0(model, example)],
                                     TokenSampler(params, "nar", generator))
        decoded = [(f"{stage}@{count}" if args.levels else stage, codes[:count], count)
                   for count in level_counts
                   for stage, codes in zip(STAGES, (example.codes, nar_codes, forced, full))]
        for stage, codes, count in decoded:
            audio = (codec.decode(codes[None].long()) if count == codec.n_levels
                     else codec.decode_levels(codes[None].long(), count))[0]
            hypothesis = judges.transcribe(to_judge_rate(audio, codec.sample_rate))
            counts = edit_counts(utterance.text, hypothesis)
            errors[stage][0] += counts["char_errors"]
            errors[stage][1] += counts["chars"]
            print(f"| {utterance.id} | {stage} | {codes.shape[1]} | {counts['cer']:.2f} | {hypothesis.strip()} |",
                  flush=True)
    print("\n| stage | CER over all items |")
    print("|---|---|")
    for stage, (wrong, total) in errors.items():
        print(f"| {stage} | {wrong / max(total, 1):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
