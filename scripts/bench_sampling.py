"""What each sampler costs per AR step, and what layer-skip saves on a model trained for it.

    python scripts/bench_sampling.py [--threads 1 --steps 200 --repeats 5 --train-steps 150]

Default: one torch thread. At batch 1 these models are too small to gain from more, and on a
shared 2-core machine a second thread oversubscribes the cores (timings then swing 5x).

Table 1, per-step sampler overhead (batch 1, random-weight ARNARModel, STOP made impossible so
every run decodes exactly --steps tokens while the history grows from 0 to --steps):
  ms/step     mean wall time between two consecutive sampler calls inside ``generate_ar``, i.e.
              one cached model step + head logits + sampling (best of --repeats runs, run
              round-robin over the rows; the prefix pass is excluded);
  overhead    (ms/step - plain ms/step) / plain ms/step, in %;
  sampler us  the TokenSampler alone on a [1, 1025] logits row with a 500-token history
              (mean microseconds per call), to attribute the overhead; for beam it is
              ``log_probs`` on [4, 1025] rows with [4, 500] histories, and the beam row's
              ms/step is a 4-row batch (plus the BeamSearch bookkeeping and cache reorder).
Table 2, layer-skip: a small model is trained with ``early_exit_loss`` on a learnable toy task
(level-0 response = each text id repeated twice, mapped to a code), then greedy-decodes held-out
texts with layer-skip off and on at several (entropy, varentropy) thresholds:
  layers      ``DecodeStats.layer_fraction``, share of the transformer layers the AR steps ran;
  ms/step     as in table 1 (best of --skip-repeats); saving = wall-time saving per step vs
              layer-skip off, in % (each exit test runs the norm + head + entropy);
  agree       tokens equal to the no-skip output at the same position, over the longer of the
              two outputs, in %; target = the same against the toy task's true response.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from vall_e.config import ModelConfig
from vall_e.inference.ar_nar_decode import generate_ar
from vall_e.models.ar_nar import ARNARModel
from vall_e.sampling import SamplingParams, TokenSampler, make_generator

N_TEXT = 64  # text vocabulary of the table-1 model
TOY_TEXT = 16  # text vocabulary of the toy task (table 2)
ROWS = [
    ("plain (ar_temp=1.0)", {}),
    ("dynamic temp (min 0.3)", dict(min_ar_temp=0.3)),
    ("top_k=50", dict(top_k=50)),
    ("top_p=0.9", dict(top_p=0.9)),
    ("min_p=0.05", dict(min_p=0.05)),
    ("rep. penalty 1.3, decay 0.5", dict(repetition_penalty=1.3, repetition_penalty_decay=0.5)),
    ("length_penalty=0.01", dict(length_penalty=0.01)),
    ("mirostat tau=3.0", dict(mirostat_tau=3.0)),
    ("dry multiplier=0.8", dict(dry_multiplier=0.8)),
    ("all combined (no beam)", dict(min_ar_temp=0.3, top_k=50, top_p=0.9, min_p=0.05,
                                    repetition_penalty=1.3, repetition_penalty_decay=0.5,
                                    length_penalty=0.01, mirostat_tau=3.0, dry_multiplier=0.8)),
    ("beam_width=4 (4 rows)", dict(beam_width=4)),
]


class TimedSampler(TokenSampler):
    """A TokenSampler that stamps the time of every call: consecutive stamps bound one AR step."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stamps: list[float] = []

    def __call__(self, logits, history=None):
        self.stamps.append(time.perf_counter())
        return super().__call__(logits, history)

    def log_probs(self, logits, history=None):  # beam search calls this instead
        self.stamps.append(time.perf_counter())
        return super().log_probs(logits, history)

    def step_seconds(self) -> list[float]:
        return [b - a for a, b in zip(self.stamps, self.stamps[1:])]


def build_model(d_model: int, layers: int, heads: int, levels: int, codebook: int,
                early_exit_loss: float = 0.0) -> ARNARModel:
    config = ModelConfig(d_model=d_model, n_layers=layers, n_heads=heads, dropout=0.0,
                         early_exit_loss=early_exit_loss)
    return ARNARModel(config, N_TEXT, levels, codebook)


def forbid_stop(model: ARNARModel) -> None:
    """Give the (bias-free) AR head a bias of -1e4 on STOP: every decode runs to max_steps."""
    head = model.heads[0]
    bias = torch.zeros(head.out_features)
    bias[model.stop_token] = -1e4
    head.bias = nn.Parameter(bias, requires_grad=False)


def millions(model: nn.Module) -> float:
    return sum(p.numel() for p in model.parameters()) / 1e6


def decode_ms(model, text, prompt, params: SamplingParams, steps: int, seed: int) -> float:
    """Mean ms per AR step of one generate_ar run of exactly ``steps`` steps."""
    torch.manual_seed(seed)
    sampler = TimedSampler(params, "ar", make_generator(seed), stop_token=model.stop_token)
    generate_ar(model, [text], [prompt], sampler, max_steps=steps)
    return 1000 * statistics.mean(sampler.step_seconds())


def sampler_us(params: SamplingParams, codebook: int, history_len: int, calls: int, seed: int) -> float:
    """Mean microseconds of the sampler alone (log_probs on 4 rows for beam search)."""
    rows = 4 if params.beam_width > 1 else 1
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(rows, codebook + 1, generator=g)
    history = torch.randint(0, codebook, (rows, history_len), generator=g)
    sampler = TokenSampler(params, "ar", make_generator(seed), stop_token=codebook)
    call = sampler.log_probs if rows > 1 else sampler
    with torch.inference_mode():
        for _ in range(10):
            call(logits, history)
        start = time.perf_counter()
        for _ in range(calls):
            call(logits, history)
    return 1e6 * (time.perf_counter() - start) / calls


def overhead_table(args) -> None:
    torch.manual_seed(args.seed)
    model = build_model(args.d_model, args.layers, args.heads, args.levels, args.codebook).eval()
    forbid_stop(model)
    text = torch.randint(0, N_TEXT, (20,))
    prompt = torch.randint(0, args.codebook, (args.levels, 75))
    params = [SamplingParams(**changes) for _, changes in ROWS]
    decode_ms(model, text, prompt, params[0], 30, args.seed)  # warm-up
    runs: list[list[float]] = [[] for _ in ROWS]
    for r in range(args.repeats):  # round-robin, each round starting one row later
        for index in [(r + i) % len(ROWS) for i in range(len(ROWS))]:
            runs[index].append(decode_ms(model, text, prompt, params[index], args.steps, args.seed))
    ms = [min(r) for r in runs]
    print(f"Table 1: per-step sampler overhead, batch 1, {millions(model):.1f} M params "
          f"(d_model {args.d_model}, {args.layers} layers, {args.heads} heads, {args.levels} "
          f"levels, codebook {args.codebook}), torch threads: {torch.get_num_threads()}, "
          f"{args.steps} steps, best of {args.repeats} runs")
    print(f"{'sampler':<28} | {'ms/step':>8} | {'overhead':>8} | {'sampler us':>10}")
    print(f"{'-' * 28}-+-{'-' * 8}-+-{'-' * 8}-+-{'-' * 10}")
    for (name, _), p, m in zip(ROWS, params, ms):
        us = sampler_us(p, args.codebook, 500, args.sampler_calls, args.seed)
        print(f"{name:<28} | {m:>8.2f} | {100 * (m - ms[0]) / ms[0]:>7.1f}% | {us:>10.0f}")


def toy_item(g: torch.Generator, codebook: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(text ids [n], level-0 response [1, 2n]): every text id twice, mapped to a code."""
    n = int(torch.randint(3, 7, (1,), generator=g))
    text = torch.randint(0, TOY_TEXT, (n,), generator=g)
    codes = (text * 37 + 11) % codebook
    return text, codes.repeat_interleave(2)[None]


def train_toy(args) -> tuple[ARNARModel, float, float]:
    """A small early-exit model trained briefly on the toy task. -> (model, loss, accuracy)."""
    torch.manual_seed(args.seed)
    model = build_model(args.skip_d_model, args.skip_layers, args.heads, args.skip_levels,
                        args.codebook, early_exit_loss=0.5).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    g = torch.Generator().manual_seed(args.seed)
    empty = torch.zeros(args.skip_levels, 0, dtype=torch.long)
    for _ in range(args.train_steps):
        items = [toy_item(g, args.codebook) for _ in range(args.batch)]
        loss, accuracy = model.ar_loss([t for t, _ in items], [empty] * args.batch,
                                       [r for _, r in items])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), float(loss.detach()), float(accuracy)


def greedy_decode(model, texts, levels: int, params: SamplingParams):
    """Decode every text alone. -> (outputs, layer fraction, ms per step)."""
    empty = torch.zeros(levels, 0, dtype=torch.long)
    outputs, layers_run, seconds = [], [], []
    for text in texts:
        sampler = TimedSampler(params, "ar", stop_token=model.stop_token)
        (tokens,), _, stats = generate_ar(model, [text], [empty], sampler,
                                          max_steps=2 * len(text) + 4)
        outputs.append(tokens)
        layers_run += stats.layers_run
        seconds += sampler.step_seconds()
    fraction = sum(layers_run) / (len(layers_run) * len(model.blocks)) if layers_run else 1.0
    return outputs, fraction, 1000 * sum(seconds) / max(1, len(seconds))


def agreement(outputs, references) -> float:
    """% of positions equal, over the longer of each pair of sequences."""
    same = total = 0
    for a, b in zip(outputs, references):
        m = min(len(a), len(b))
        same += int((a[:m] == b[:m]).sum())
        total += max(len(a), len(b))
    return 100 * same / max(1, total)


def skip_settings(args) -> list[tuple[str, SamplingParams]]:
    """Greedy decoding with layer-skip off, then on at each (entropy, varentropy) pair."""
    settings = [("off", SamplingParams(ar_temp=0.0))]
    for entropy, varentropy in args.thresholds:
        settings.append((f"on ({entropy:g}, {varentropy:g})", SamplingParams(
            ar_temp=0.0, layer_skip=True, layer_skip_entropy_threshold=entropy,
            layer_skip_varentropy_threshold=varentropy)))
    return settings


def layer_skip_table(args) -> None:
    start = time.perf_counter()
    model, loss, accuracy = train_toy(args)
    trained_s = time.perf_counter() - start
    g = torch.Generator().manual_seed(args.seed + 1)
    held_out = [toy_item(g, args.codebook) for _ in range(args.eval_items)]
    texts, targets = [t for t, _ in held_out], [r[0] for _, r in held_out]
    settings = skip_settings(args)
    greedy_decode(model, texts[:4], args.skip_levels, settings[-1][1])  # warm-up
    runs = {name: [] for name, _ in settings}
    for _ in range(args.skip_repeats):  # round-robin; greedy outputs are the same every run
        for name, params in settings:
            runs[name].append(greedy_decode(model, texts, args.skip_levels, params))
    print(f"Table 2: layer-skip, batch 1, greedy, {millions(model):.1f} M params (d_model "
          f"{args.skip_d_model}, {args.skip_layers} layers, {args.skip_levels} levels, "
          f"early_exit_loss 0.5), torch threads: {torch.get_num_threads()}; trained {args.train_steps} "
          f"AdamW steps (batch {args.batch}) in {trained_s:.0f} s, last batch: loss {loss:.3f}, "
          f"acc {100 * accuracy:.0f}%; {args.eval_items} held-out texts, "
          f"best of {args.skip_repeats} runs")
    print(f"{'layer-skip (H, varH)':<20} | {'layers':>6} | {'ms/step':>7} | {'saving':>7} | "
          f"{'agree':>6} | {'target':>6}")
    print(f"{'-' * 20}-+-{'-' * 6}-+-{'-' * 7}-+-{'-' * 7}-+-{'-' * 6}-+-{'-' * 6}")
    base_outputs = runs["off"][0][0]
    base_ms = min(r[2] for r in runs["off"])
    for name, results in runs.items():
        outputs, fraction, ms = results[0][0], results[0][1], min(r[2] for r in results)
        print(f"{name:<20} | {100 * fraction:>5.0f}% | {ms:>7.2f} | "
              f"{100 * (base_ms - ms) / base_ms:>6.1f}% | {agreement(outputs, base_outputs):>5.1f}% "
              f"| {agreement(outputs, targets):>5.1f}%")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--levels", type=int, default=8)
    p.add_argument("--codebook", type=int, default=1024)
    p.add_argument("--steps", type=int, default=200, help="AR steps per run (table 1)")
    p.add_argument("--repeats", type=int, default=5, help="runs per sampler (table 1)")
    p.add_argument("--sampler-calls", type=int, default=300)
    p.add_argument("--skip-d-model", type=int, default=128)
    p.add_argument("--skip-layers", type=int, default=4)
    p.add_argument("--skip-levels", type=int, default=2, help="only level 0 is trained")
    p.add_argument("--train-steps", type=int, default=150)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--skip-repeats", type=int, default=3, help="decodes per setting (table 2)")
    p.add_argument("--eval-items", type=int, default=16)
    p.add_argument("--thresholds", type=float, nargs=2, action="append", metavar=("H", "VARH"),
                   help="(entropy, varentropy) pair; repeatable; default 0.5 1 2 4 for both")
    p.add_argument("--threads", type=int, default=1, help="torch threads; 0 = torch's default")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    args.thresholds = args.thresholds or [(t, t) for t in (0.5, 1.0, 2.0, 4.0)]
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    overhead_table(args)
    print()
    layer_skip_table(args)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
