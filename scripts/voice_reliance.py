"""How much does an AR+NAR checkpoint take from its voice prompt? Teacher-forced level-0 and
NAR losses with each item's own speaker's prompt and with another speaker's
(vall_e.eval.voice_reliance), at one or more prompt lengths.

    python scripts/voice_reliance.py --model CKPT [--model CKPT2 ...] --data DIR \
        [--all | --items 48] [--prompt-seconds 1 2 3]

--data is prepared shards: the checkpoint's own (its validation items), or with --all every
item of shards it never trained on, e.g. the held-out voices prepared with
`python -m vall_e.data prepare --input runs/corpus/v1/eval_unseen --output runs/unseen-shards`.
The items are taken round-robin by speaker; each one's prompt is a crop of another of its
speaker's utterances, the same for every checkpoint. Prints one row per checkpoint and prompt length.
"""
import argparse
import sys

import torch

from vall_e.cli.common import run_main
from vall_e.data.shards import load_prepared
from vall_e.errors import ConfigError
from vall_e.eval.voice_reliance import measure_voice_reliance
from vall_e.models.checkpoint import load_checkpoint
from vall_e.training.dataset import TTSDataset, split_train_val


def interleaved(utterances: list) -> list:
    """The utterances round-robin by speaker, so the first N span every voice."""
    by_speaker = {}
    for utt in utterances:
        by_speaker.setdefault(utt.speaker, []).append(utt)
    queues = list(by_speaker.values())
    return [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="AR+NAR checkpoint directory (repeatable)")
    parser.add_argument("--data", required=True, help="prepared data directory")
    parser.add_argument("--all", action="store_true",
                        help="score every item of --data (held-out voices), not the validation split")
    parser.add_argument("--items", type=int, default=48, help="at most this many items scored")
    parser.add_argument("--prompt-seconds", type=float, nargs="+",
                        help="acoustic prompt lengths (default: the checkpoint's data.prompt_seconds)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    if args.items < 2:
        raise ConfigError("--items must be at least 2")
    torch.set_num_threads(args.threads)
    info, utterances = load_prepared(args.data)
    print("| checkpoint | prompt s | level-0 loss | with another voice | gap | NAR loss | with another voice | gap |")
    print("|---|---|---|---|---|---|---|---|")
    for directory in args.model:
        loaded = load_checkpoint(directory)
        data = loaded.config.data
        items = interleaved(utterances if args.all else split_train_val(utterances, data.val_fraction)[1])
        if len({u.speaker for u in items[:args.items]}) < 2:
            raise ConfigError(f"{args.data} has fewer than 2 speakers among the items scored; "
                              "the other voice's prompt comes from another speaker")
        for seconds in args.prompt_seconds or [data.prompt_seconds]:
            frames = max(1, round(seconds * info.frame_rate))
            dataset = TTSDataset(items, loaded.tokenizer, frames, seed=1, deterministic=True)
            examples = [dataset[i] for i in range(min(args.items, len(dataset)))]
            r = measure_voice_reliance(loaded.model, examples)
            print(f"| {directory} | {seconds:g} | {r.level0_loss:.3f} | {r.level0_loss_other_voice:.3f} | "
                  f"{r.level0_gap:+.3f} | {r.nar_loss:.3f} | {r.nar_loss_other_voice:.3f} | {r.nar_gap:+.3f} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
