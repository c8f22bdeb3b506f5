"""Fine-tuning throughput and artifact size per method, for the tiny test models and ~20 M ones.

    python scripts/bench_finetune.py [--steps 30] [--sizes tiny,small] [--families ar_nar,llm]

Everything is built in a temporary directory: a random-weight EnCodec, a synthetic speaker
(12 clips), and per size and family a base made by one training step from random init
(``small``: configs/small.yaml's AR+NAR, 8 codec levels; the LLM-TTS at the same width/depth
over 2 levels). Throughput only: these bases are untrained, so their losses mean nothing (the
tests measure the losses on trained tiny bases). steps/s and tokens/s come from
``finetune_report.json`` (training batches only; the first and validation are left out).
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import warnings
from pathlib import Path

import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
SMALL_LLM = {"d_model": 384, "n_layers": 8, "n_heads": 6, "ffn_mult": 4.0}


def base_configs(codec: Path, size: str, family: str) -> dict:
    name = {"ar_nar": "tiny.yaml" if size == "tiny" else "small.yaml", "llm": "tiny_llm.yaml"}
    raw = yaml.safe_load((REPO / "configs" / name[family]).read_text())
    if family == "llm" and size == "small":
        raw["model"].update(SMALL_LLM)
    raw["codec"] = {"name": "encodec", "path": str(codec), "n_levels": raw["codec"]["n_levels"]}
    raw["data"]["prompt_seconds"] = 1.0
    raw["train"] = {"max_steps": 1, "batch_size": 4, "precision": "32-true",
                    "val_every_n_steps": 1, "checkpoint_every_n_steps": 1}
    raw["model"]["dropout"] = 0.0
    return raw


def make_base(root: Path, codec: Path, corpus: Path, size: str, family: str) -> Path:
    from vall_e.config import Config
    from vall_e.data.prepare import prepare
    from vall_e.training.train import train

    raw = base_configs(codec, size, family)
    levels = raw["codec"]["n_levels"]
    data = root / f"data-{levels}"
    raw["data"]["path"] = str(data)
    raw["train"]["output_dir"] = str(root / f"base-{size}-{family}")
    config = Config.from_dict(copy.deepcopy(raw))
    prepare(config, corpus, data, progress=False)
    return train(config, progress=False)


def bench(base: Path, corpus: Path, out: Path, method: str, steps: int) -> dict:
    from vall_e.finetune.config import FinetuneConfig
    from vall_e.finetune.recipe import finetune

    raw = {"base": str(base), "speaker_data": str(corpus), "method": method,
           "train": {"output_dir": str(out), "max_steps": steps, "batch_size": 4,
                     "learning_rate": 1e-3, "warmup_steps": 2, "val_every_n_steps": steps,
                     "checkpoint_every_n_steps": steps, "accelerator": "cpu"}}
    if method == "lora":
        raw["lora"] = {"rank": 8, "alpha": 16}
    result = finetune(FinetuneConfig.from_dict(raw), progress=False)
    params = sum(p.numel() for p in _weights(base))
    return {"params": params, **json.loads((out / "finetune_report.json").read_text()),
            "summary": result.summary()}


def _weights(base: Path):
    from safetensors.torch import load_file

    from vall_e.finetune.base import weight_files

    for path in weight_files(base):
        yield from load_file(str(path)).values()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--sizes", default="tiny,small")
    p.add_argument("--families", default="ar_nar,llm")
    p.add_argument("--methods", default="lora,full,offset")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    from vall_e.codecs import save_random_codec
    from vall_e.data.synthetic import make_synthetic_corpus

    rows = []
    with tempfile.TemporaryDirectory(prefix="vall_e-bench-ft-") as tmp:
        root = Path(tmp)
        codec = save_random_codec("encodec", root / "codec")
        corpus = make_synthetic_corpus(root / "speaker", n_speakers=1, n_utterances=12, seed=11)
        for size in args.sizes.split(","):
            for family in args.families.split(","):
                base = make_base(root, codec, corpus, size, family)
                for method in args.methods.split(","):
                    out = root / f"ft-{size}-{family}-{method}"
                    row = bench(base, corpus, out, method, args.steps)
                    rows.append({"size": size, "family": family, **row})
                    print(f"[{size} {family}] {row['summary']}", file=sys.stderr)
    print(f"\n{args.steps} steps, batch 4, {args.threads} CPU thread(s), fp32\n")
    print("| size | family | base params | method | trainable | artifact | steps/s | tokens/s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['size']} | {r['family']} | {r['params'] / 1e6:.2f} M | {r['method']} | "
              f"{r['trainable_parameters']:,} | {r['artifact_bytes'] / 1024:.1f} KB | "
              f"{r['steps_per_second']:.2f} | {r['tokens_per_second']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
