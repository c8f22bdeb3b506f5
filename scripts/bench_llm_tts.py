"""LLM-TTS speed on this machine: tokens/s and real-time factor at batch 1 and 8, time to the
first streamed chunk, for a ~20 M parameter Llama (flat layout over EnCodec), fp32 and bf16.

    python scripts/bench_llm_tts.py [--levels 2] [--tokens 300] [--dtypes float32 bfloat16]

Random weights (nothing to download): the model never draws STOP, so every row generates
exactly ``--tokens`` ids; the layout mask keeps them valid frames, which the codec decodes.
Everything goes through the real path: a saved checkpoint loaded by ``LLMEngine`` (eager
PyTorch, Hugging Face DynamicCache), our sampler, the codec.

Columns: tok/s = generated ids per second of AR wall time (all rows together);
RTF = wall seconds (prompt + AR + codec decode) per second of audio produced (< 1: faster
than real time); first chunk = seconds from the call until the first streamed audio chunk.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from vall_e.audio import save_audio
from vall_e.codecs import save_random_codec
from vall_e.codecs.base import CodecInfo
from vall_e.config import CodecConfig, Config, ModelConfig
from vall_e.inference.llm_engine import LLMEngine
from vall_e.models.llm_checkpoint import save_llm_checkpoint
from vall_e.models.llm_layouts import FlatLayout
from vall_e.models.llm_tts import LLMTTSModel, build_llama
from vall_e.sampling import SamplingParams
from vall_e.text import phonemize
from vall_e.text.tokenizer import PhonemeTokenizer

TEXT = "The quick brown fox jumps over the lazy dog near the river bank."
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def build_checkpoint(root: Path, args) -> tuple[Path, Path, float]:
    codec_dir = save_random_codec("encodec", root / "encodec")
    config = Config(model=ModelConfig(family="llm", layout="flat", d_model=args.d_model,
                                      n_layers=args.layers, n_heads=args.heads, dropout=0.0,
                                      max_positions=4096),
                    codec=CodecConfig(name="encodec", path=str(codec_dir), n_levels=args.levels))
    config.validate()
    info = CodecInfo("encodec", 24000, 75.0, args.levels, 1024)
    vocab = PhonemeTokenizer.from_phoneme_lists([phonemize(TEXT, "en-us")])
    layout = FlatLayout(vocab, "phonemes", args.levels, 1024)
    torch.manual_seed(0)
    lm = build_llama(config.model, layout.vocab_size, layout.PAD, layout.BOS, layout.SPEECH_END)
    params = sum(p.numel() for p in lm.parameters()) / 1e6
    path = save_llm_checkpoint(root / "model", LLMTTSModel(lm, layout), config, info)
    reference = root / "reference.wav"
    t = torch.arange(24000 * 3) / 24000
    save_audio(reference, 0.3 * torch.sin(2 * torch.pi * 180 * t) * (1 + torch.sin(3 * t)), 24000)
    return path, reference, params


def run_batch(engine: LLMEngine, speaker, batch: int, tokens: int) -> dict:
    settings = engine.defaults
    start = time.perf_counter()
    results = engine.synthesize([TEXT] * batch, speaker, SamplingParams(ar_temp=0.0),
                                settings, max_length=None)
    wall = time.perf_counter() - start
    audio = sum(r.audio.numel() for r in results) / engine.codec.sample_rate
    generated = sum(r.ar_steps for r in results)
    return {"tok/s": generated / results[0].seconds["ar"], "rtf": wall / audio,
            "audio_s": audio / batch}


def time_to_first_chunk(engine: LLMEngine, speaker, chunk_seconds: float) -> tuple[float, float]:
    start = time.perf_counter()
    first = None
    audio = 0
    for chunk in engine.stream(TEXT, speaker, SamplingParams(ar_temp=0.0), engine.defaults,
                               chunk_seconds=chunk_seconds):
        if first is None:
            first = time.perf_counter() - start
        audio += chunk.numel()
    return first, (time.perf_counter() - start) / (audio / engine.codec.sample_rate)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--d-model", type=int, default=384)
    p.add_argument("--layers", type=int, default=10)
    p.add_argument("--heads", type=int, default=6)
    p.add_argument("--levels", type=int, default=2, help="EnCodec levels interleaved per frame")
    p.add_argument("--tokens", type=int, default=300, help="ids generated per row")
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    p.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"], choices=sorted(DTYPES))
    p.add_argument("--chunk-seconds", type=float, default=0.5)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        path, reference, params = build_checkpoint(Path(tmp), args)
        rows = []
        for dtype in args.dtypes:
            engine = LLMEngine.from_checkpoint(path, "cpu", dtype=DTYPES[dtype])
            engine.defaults.max_ar_steps = args.tokens
            speaker = engine.create_speaker(reference)
            run_batch(engine, speaker, 1, args.tokens)  # warm-up (allocator, lazy imports)
            for batch in args.batches:
                rows.append((dtype, batch, run_batch(engine, speaker, batch, args.tokens)))
            first, stream_rtf = time_to_first_chunk(engine, speaker, args.chunk_seconds)
            rows.append((dtype, "stream", {"first": first, "rtf": stream_rtf}))
    print(f"LLM-TTS decode: {params:.1f} M params (d{args.d_model} x {args.layers} layers), "
          f"flat layout over EnCodec {args.levels} levels ({75 * args.levels} ids per audio "
          f"second), {args.tokens} ids per row, {torch.get_num_threads()} threads")
    print(f"{'dtype':<9} {'batch':>6} {'tok/s':>8} {'RTF':>6} {'first chunk':>12}")
    for dtype, batch, r in rows:
        if batch == "stream":
            print(f"{dtype:<9} {'stream':>6} {'':>8} {r['rtf']:6.2f} {r['first']:10.2f} s")
        else:
            print(f"{dtype:<9} {batch:>6} {r['tok/s']:8.1f} {r['rtf']:6.2f} {'':>12}")


if __name__ == "__main__":
    main()
