"""The same model run as fp32 / bf16 / int8 / int4 / compiled: what notebook 04 measures.

Each variant is built with the public switches a user has: ``dtype`` and ``compile`` of
``ARNAREngine.from_checkpoint`` and ``vall_e.quantize.quantize_checkpoint`` (the offline
rewrite behind ``python -m vall_e.quantize``), into a scratch directory the caller owns.
Every variant speaks the same sentences in the same voices with the same seed, after one
unscored warm-up utterance (kernel repacking, allocator growth), so the timings compare
steady states. Memory is ``vall_e.quantize.model_bytes``: parameters + buffers + the
repacked copies the quantized kernels keep; disk is the weight files loaded.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Sequence

import torch

from vall_e.errors import ConfigError
from vall_e.eval.run import evaluate_model
from vall_e.sampling import SamplingParams

# name -> how it is built; int4's CPU kernel takes groups of 32..256 input columns
VARIANTS = {
    "fp32": {},
    "bf16": {"dtype": torch.bfloat16},
    "int8": {"bits": 8, "group_size": 0},
    "int4": {"bits": 4, "group_size": 32},
    "compiled": {"compile": True},
}


def build_variant(model_dir: str | Path, name: str, workdir: str | Path,
                  compile_backend: str | None = None) -> tuple[object, dict]:
    """The engine of variant ``name`` and what building it cost: ``build_seconds`` (quantize
    rewrite, load, compile + warm-up), ``model_mib`` and ``disk_mib``."""
    from vall_e.inference.engine import ARNAREngine
    from vall_e.quantize import QuantSpec, model_bytes, quantize_checkpoint

    if name not in VARIANTS:
        raise ConfigError(f"unknown variant {name!r}; choose from {', '.join(VARIANTS)}")
    recipe = VARIANTS[name]
    start = time.perf_counter()
    directory = Path(model_dir)
    if "bits" in recipe:
        directory = Path(workdir) / name
        quantize_checkpoint(model_dir, directory, QuantSpec(bits=recipe["bits"],
                                                            group_size=recipe["group_size"]))
    engine = ARNAREngine.from_checkpoint(directory, device="cpu", dtype=recipe.get("dtype"))
    if recipe.get("compile"):
        engine.compile(compile_backend)
    disk = sum(p.stat().st_size for p in directory.glob("*.safetensors"))
    return engine, {"build_seconds": time.perf_counter() - start,
                    "model_mib": model_bytes(engine.model) / 2**20, "disk_mib": disk / 2**20}


def run_variants(bench, names: Sequence[str], params: SamplingParams, workdir: str | Path,
                 compile_backend: str | None = None,
                 say: Callable[[str], None] | None = print) -> list[dict]:
    """Every sentence x voice of ``bench`` under each variant; rows get ``variant`` and the
    build costs. ``bench.engine`` is left as it was."""
    from vall_e.quantize import is_quantized

    if is_quantized(bench.model_dir):  # fp32 / int4 would be rebuilt from int8 weights
        raise ConfigError(f"{bench.model_dir} is already quantized; compare the variants of its "
                          "float checkpoint (a training run's latest/) instead")
    params = params.validate()
    if params.layer_skip or params.beam_width > 1:
        raise ConfigError("compare variants with plain sampling: layer-skip and beam search "
                          "run eagerly and would hide what compiling changes")
    rows, original = [], bench.engine
    try:
        for name in names:
            engine, cost = build_variant(bench.model_dir, name, workdir, compile_backend)
            bench.engine = engine
            ref = bench.refs[0]
            speaker = engine.create_speaker(ref.wav, transcript=ref.text or None,
                                            settings=bench.settings)
            engine.synthesize(bench.sentences[:1], speaker, params, bench.settings)  # warm-up
            start = time.perf_counter()
            found = evaluate_model(engine, bench.sentences, bench.refs, bench.judges, params,
                                   bench.settings)
            rows += [{**row, "variant": name, **cost} for row in found]
            if say:
                say(f"{name}: built in {cost['build_seconds']:.1f} s, {len(found)} clips in "
                    f"{time.perf_counter() - start:.1f} s")
    finally:
        bench.engine = original
    return rows


def with_costs(summary: list[dict], rows: Sequence[dict]) -> list[dict]:
    """``summary`` (one line per variant) with each variant's build costs added."""
    costs = {r["variant"]: {k: r[k] for k in ("build_seconds", "model_mib", "disk_mib")}
             for r in rows}
    return [{**line, **costs.get(line["variant"], {})} for line in summary]
