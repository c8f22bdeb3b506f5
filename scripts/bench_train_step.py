"""What one AR+NAR training step costs, by part: why train.nar_probability exists.

    python scripts/bench_train_step.py [--batch 8] [--frames 300] [--threads 1] [--repeats 2]

Random weights and codes of the default model's shape (configs/default.yaml: width 256, 6
layers, 8 x 1024 codes; 90 phonemes, a 3 s prompt), forward + backward under bf16 autocast as
training runs it. Prints seconds per part: the AR loss with and without the early-exit loss,
with ``model.ar_self_inputs`` (its extra no-grad pass), the NAR loss, and what a step costs
with the NAR on every step or on half of them.
"""
import argparse
import time

import torch

from vall_e.config import Config
from vall_e.models.ar_nar import ARNARModel


def seconds(step, repeats: int) -> float:
    step()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--yaml", default="configs/default.yaml")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--frames", type=int, default=300, help="response frames per item")
    parser.add_argument("--phonemes", type=int, default=90)
    parser.add_argument("--prompt-frames", type=int, default=150)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = Config.from_yaml(args.yaml).model
    levels, codebook = 8, 1024
    model = ARNARModel(config, 68, levels, codebook).train()
    text = [torch.randint(4, 68, (args.phonemes,)) for _ in range(args.batch)]
    prompts = [torch.randint(0, codebook, (levels, args.prompt_frames)) for _ in range(args.batch)]
    codes = [torch.randint(0, codebook, (levels, args.frames)) for _ in range(args.batch)]

    def backward(loss_fn):
        def step():
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss, _ = loss_fn()
            loss.backward()
        return step

    early_exit = config.early_exit_loss
    ar = seconds(backward(lambda: model.ar_loss(text, prompts, codes)), args.repeats)
    config.early_exit_loss = 0.0
    ar_plain = seconds(backward(lambda: model.ar_loss(text, prompts, codes)), args.repeats)
    config.early_exit_loss = early_exit
    self_inputs = config.ar_self_inputs
    config.ar_self_inputs = 0.3
    ar_self = seconds(backward(lambda: model.ar_loss(text, prompts, codes)), args.repeats)
    config.ar_self_inputs = self_inputs
    nar_levels = [1 + i % (levels - 1) for i in range(args.batch)]
    nar = seconds(backward(lambda: model.nar_loss(text, prompts, codes, nar_levels)), args.repeats)
    print(f"batch {args.batch}, {args.frames} frames, {args.threads} thread(s), forward + backward")
    print("| part | seconds |")
    print("|---|---|")
    print(f"| AR loss, early-exit loss {early_exit} | {ar:.2f} |")
    print(f"| AR loss, no early-exit loss | {ar_plain:.2f} |")
    print(f"| AR loss, early-exit loss {early_exit}, ar_self_inputs 0.3 | {ar_self:.2f} |")
    print(f"| NAR loss (one level per item) | {nar:.2f} |")
    print(f"| step, NAR every step | {ar + nar:.2f} |")
    print(f"| step, train.nar_probability 0.5 | {ar + 0.5 * nar:.2f} |")


if __name__ == "__main__":
    main()
