"""Quantization / dtype / compile, measured: one table for both model families.

    python scripts/bench_inference.py [--tokens 300] [--variants fp32 bf16 compiled int8 int4]

Builds a ~20 M parameter random-weight model of each family (AR+NAR: d384 x 8 layers over
8-level EnCodec, as configs/small.yaml; LLM-TTS: d384 x 10 layers, flat layout over 2-level
EnCodec, as scripts/bench_llm_tts.py), writes the quantized checkpoints with the real
``python -m vall_e.quantize`` code path, and runs every variant in a fresh subprocess (clean
peak memory, no compile cache shared) through the real engine: same text, same reference,
greedy decoding, batch 1, one thread.

Columns (best of --repeats timed runs after one warm-up): AR tok/s = AR tokens (level-0
frames / LM ids) per second of AR wall time; RTF = wall seconds (prompt + AR + NAR + codec)
per second of audio; disk = weight files of
the directory loaded; model MiB = parameters + buffers + the CPU kernels' repacked copies;
peak +RSS = how far the worker's resident memory peaked above its level just before the
model load (libraries already imported are not counted; the codec and a compile are);
free-run = share of positions where the variant's greedy tokens equal fp32's; forced = top-1
agreement with fp32's next token when both read fp32's own sequence (teacher forcing; this
is the fair measure, because free-running sequences part for good at their first difference).
Random weights never draw STOP, so every run decodes exactly --tokens AR steps. WER and
speaker similarity are meaningless on random-weight models (they speak noise) and are not
measured here; give a trained model to ``python -m vall_e.eval`` for those.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEXT = "The quick brown fox jumps over the lazy dog near the river bank."
SIZES = {"ar_nar": dict(d_model=384, n_layers=8, n_heads=6, n_levels=8, ffn_mult=4.0),
         "llm": dict(d_model=384, n_layers=10, n_heads=6, n_levels=2, ffn_mult=4.0)}
# variant -> (directory suffix, dtype, compile)
VARIANTS = {"fp32": ("", None, False), "bf16": ("", "bfloat16", False),
            "compiled": ("", None, True), "int8": ("_int8", None, False),
            "int8-dynamic": ("_int8dyn", None, False), "int4": ("_int4", None, False),
            "int8+compiled": ("_int8", None, True), "int4+compiled": ("_int4", None, True),
            "int8-fhead": ("_int8fh", None, False), "int8-fhead+comp": ("_int8fh", None, True)}
QUANT = {"_int8": dict(bits=8, group_size=0), "_int8dyn": dict(bits=8, group_size=0, mode="dynamic"),
         "_int4": dict(bits=4, group_size=32),
         "_int8fh": dict(bits=8, group_size=0, quantize_head=False)}  # fhead: float head


def build(root: Path, tokens: int) -> None:
    import torch

    from vall_e.audio import save_audio
    from vall_e.codecs import save_random_codec
    from vall_e.models.random_checkpoint import save_random_checkpoint
    from vall_e.quantize import QuantSpec, quantize_checkpoint

    for levels in {s["n_levels"] for s in SIZES.values()}:
        save_random_codec("encodec", root / f"encodec{levels}")
    for family, size in SIZES.items():
        directory = root / family
        save_random_checkpoint(family, directory, root / f"encodec{size['n_levels']}",
                               max_ar_steps=tokens, text=TEXT, fan_in_init=True, **size)
        for suffix, spec in QUANT.items():
            quantize_checkpoint(directory, root / f"{family}{suffix}", QuantSpec(**spec))
    t = torch.arange(24000 * 3) / 24000
    save_audio(root / "reference.wav", 0.3 * torch.sin(2 * torch.pi * 180 * t) * (1 + torch.sin(3 * t)), 24000)


def forced_agreement(engine, speaker, reference_tokens: list[int]) -> float:
    """Top-1 agreement with ``reference_tokens`` when the model reads them (teacher forcing)."""
    import torch

    with torch.inference_mode():
        if engine.family == "llm":
            prompt = engine.prompt_ids(TEXT, speaker, engine.defaults)
            ids = torch.tensor([prompt + reference_tokens[:-1]])
            logits = engine.model.lm(input_ids=ids).logits[0, len(prompt) - 1:].float()
            layout = engine.layout
            masks = torch.stack([layout.step_mask(i, logits.shape[-1], "cpu")
                                 for i in range(len(reference_tokens))])
            predicted = logits.masked_fill(~masks, float("-inf")).argmax(-1)
        else:
            model = engine.model
            text_ids = engine.text_ids(TEXT, engine.defaults)
            prompt = engine._prompt(speaker, engine.defaults)
            prefix = model.tts_prefix(0, text_ids, prompt)
            codes = torch.tensor(reference_tokens[:-1], dtype=torch.long)
            seq = torch.cat([prefix, model.code_embeddings[0](codes)])[None]
            n = seq.shape[1]
            positions = model.training_positions(text_ids, prompt, codes)[None]
            hidden = model.hidden_states(seq, positions,
                                         torch.ones(1, n, dtype=torch.bool), causal=True)
            predicted = model.level_logits(hidden[0, prefix.shape[0] - 1:], 0).argmax(-1)
    return float((predicted == torch.tensor(reference_tokens)).float().mean())


def worker(root: Path, family: str, variant: str, repeats: int) -> dict:
    import torch

    torch.set_num_threads(1)
    from vall_e.inference.loader import load_engine
    from vall_e.quantize import model_bytes
    from vall_e.quantize.checkpoint import weights_disk_bytes
    from vall_e.sampling import SamplingParams

    suffix, dtype, compile_ = VARIANTS[variant]
    directory = root / f"{family}{suffix}"
    # reset the peak-RSS mark: from here on it counts this variant's load and runs only
    Path("/proc/self/clear_refs").write_text("5")
    baseline = _rss("VmRSS:")
    start = time.perf_counter()
    engine = load_engine(directory, "cpu", dtype=getattr(torch, dtype) if dtype else None,
                         compile=compile_)
    load_seconds = time.perf_counter() - start
    speaker = engine.create_speaker(root / "reference.wav")
    params = SamplingParams(ar_temp=0.0, nar_temp=0.0, seed=0)
    runs = []
    for _ in range(repeats + 1):  # the first run warms allocators and lazy imports
        start = time.perf_counter()
        (result,) = engine.synthesize([TEXT], speaker, params)
        wall = time.perf_counter() - start
        runs.append((result, wall))
    timed = runs[1:]
    result = timed[-1][0]
    audio_seconds = result.audio.numel() / result.sample_rate
    tokens = result.codes[0].tolist() if family == "ar_nar" else \
        engine.layout.codes_to_tokens(result.codes).tolist()
    return {"family": family, "variant": variant, "tokens": tokens, "load_s": load_seconds,
            # best of the timed runs: on a shared machine the slow runs measure the neighbours
            "tok_s": max(r.ar_steps / r.seconds["ar"] for r, _ in timed),
            "rtf": min(w for _, w in timed) / audio_seconds,
            "disk": weights_disk_bytes(directory), "model_bytes": model_bytes(engine.model),
            "peak_rss": _rss("VmHWM:") - baseline,
            "forced": None if variant == "fp32" else forced_agreement(
                engine, speaker, json.loads((root / f"{family}_fp32_tokens.json").read_text()))}


def _rss(field: str) -> int:
    """VmRSS (now) or VmHWM (peak since the last clear_refs reset) in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/self/status lacks " + field)


def run_worker(root: Path, family: str, variant: str, repeats: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, __file__, "--worker", str(root), family, variant,
                           str(repeats)], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{family}/{variant} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(rows: list[dict], tokens: int) -> str:
    distinct = {r["family"]: len(set(r["tokens"])) for r in rows if r["variant"] == "fp32"}
    lines = [f"AR decode at batch 1, 1 thread, greedy, {tokens} AR steps, random weights "
             f"(fan-in init; distinct tokens in fp32's greedy output: {distinct})",
             f"{'family':<7} {'variant':<14} {'AR tok/s':>8} {'speed':>6} {'RTF':>6} {'disk MiB':>8} "
             f"{'smaller':>7} {'model MiB':>9} {'peak +RSS':>9} {'free-run':>8} {'forced':>7}"]
    base = {r["family"]: r for r in rows if r["variant"] == "fp32"}
    for r in rows:
        b = base[r["family"]]
        n = len(b["tokens"])
        free = sum(x == y for x, y in zip(r["tokens"], b["tokens"])) / n
        forced = "" if r["forced"] is None else f"{100 * r['forced']:.1f}%"
        lines.append(
            f"{r['family']:<7} {r['variant']:<14} {r['tok_s']:8.1f} {r['tok_s'] / b['tok_s']:5.2f}x "
            f"{r['rtf']:6.2f} {r['disk'] / 2**20:8.1f} {b['disk'] / r['disk']:6.2f}x "
            f"{r['model_bytes'] / 2**20:9.1f} {r['peak_rss'] / 2**20:9.0f} {100 * free:7.1f}% {forced:>7}")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        root, family, variant, repeats = sys.argv[2:6]
        print(json.dumps(worker(Path(root), family, variant, int(repeats))))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tokens", type=int, default=300, help="AR steps per utterance")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per variant (after one warm-up)")
    p.add_argument("--families", nargs="+", default=list(SIZES), choices=list(SIZES))
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_inference-") as tmp:
        root = Path(tmp)
        build(root, args.tokens)
        rows = []
        for family in args.families:
            for variant in ["fp32"] + [v for v in args.variants if v != "fp32"]:
                start = time.perf_counter()
                row = run_worker(root, family, variant, args.repeats)
                if variant == "fp32":
                    (root / f"{family}_fp32_tokens.json").write_text(json.dumps(row["tokens"]))
                rows.append(row)
                print(f"  {family}/{variant}: {time.perf_counter() - start:.0f} s "
                      f"(load {row['load_s']:.0f} s)", file=sys.stderr, flush=True)
    print(table(rows, args.tokens))


if __name__ == "__main__":
    main()
