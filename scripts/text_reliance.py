"""Does an AR+NAR checkpoint read its text? Teacher-forced AR/NAR losses on the validation
items of prepared data, with the right phonemes and with another item's (vall_e.eval.text_reliance).

    python scripts/text_reliance.py --model runs/default/checkpoints/step-0002000 [--model ...] \
        --data runs/default-data [--items 32] [--val-fraction F] [--prompt-seconds S]

Prints one table row per checkpoint; the AR gap growing from ~0 is the model learning to align.
With ``--heads`` it also prints, per checkpoint, how diagonally each AR head attends to the
phonemes (vall_e.eval.text_reliance.measure_head_alignment).
"""
import argparse
import sys

import torch

from vall_e.cli.common import run_main
from vall_e.data.shards import load_prepared
from vall_e.errors import ConfigError
from vall_e.eval.text_reliance import measure_head_alignment, measure_text_reliance
from vall_e.models.checkpoint import load_checkpoint
from vall_e.training.dataset import TTSDataset, split_train_val


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="AR+NAR checkpoint directory (repeatable)")
    parser.add_argument("--data", required=True, help="prepared data directory the model trained on")
    parser.add_argument("--items", type=int, default=32, help="validation items scored (one batch)")
    parser.add_argument("--val-fraction", type=float,
                        help="which items are validation (default: the checkpoint's data.val_fraction)")
    parser.add_argument("--prompt-seconds", type=float,
                        help="acoustic prompt length (default: the checkpoint's data.prompt_seconds)")
    parser.add_argument("--heads", action="store_true",
                        help="also print every AR head's diagonal-attention loss and text mass")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    if args.items < 2:
        raise ConfigError("--items must be at least 2")
    torch.set_num_threads(args.threads)
    info, utterances = load_prepared(args.data)
    rows, head_tables = [], []
    for directory in args.model:
        loaded = load_checkpoint(directory)
        data = loaded.config.data  # the split and prompt the checkpoint trained with
        _, val = split_train_val(utterances, args.val_fraction or data.val_fraction)
        frames = max(1, round((args.prompt_seconds or data.prompt_seconds) * info.frame_rate))
        dataset = TTSDataset(val, loaded.tokenizer, frames, seed=1, deterministic=True)
        examples = [dataset[i] for i in range(min(args.items, len(dataset)))]
        r = measure_text_reliance(loaded.model, examples)
        rows.append(f"| {directory} | {loaded.step} | {r.ar_loss:.3f} | {r.ar_loss_other_text:.3f} | "
                    f"{r.ar_gap:+.3f} | {r.ar_accuracy:.3f} | {r.nar_loss:.3f} | {r.nar_gap:+.3f} |")
        if args.heads:
            head_tables.append((directory, measure_head_alignment(loaded.model, examples)))
    print("| checkpoint | step | AR loss | AR loss, other text | AR gap | AR acc | NAR loss | NAR gap |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    for directory, heads in head_tables:
        n_heads = max(h.head for h in heads) + 1
        print(f"\n{directory}: diagonal-prior loss (text mass) per AR head; lower reads in order")
        print("| layer | " + " | ".join(f"head {i}" for i in range(n_heads)) + " |")
        print("|---|" + "---|" * n_heads)
        for layer in sorted({h.layer for h in heads}):
            cells = [f"{h.prior_loss:.2f} ({h.text_mass:.2f})" for h in heads if h.layer == layer]
            print(f"| {layer} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
