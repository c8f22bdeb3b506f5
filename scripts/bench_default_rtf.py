"""Real-time factor of the embedded default model, as a user meets it: the CLI and the Interface.

    python scripts/bench_default_rtf.py [--model DIR] [--threads 2]

Prints one row per (entry point, voice, sentence): audio seconds, synthesis seconds (codec
decode included, model load excluded) and RTF, then the median per entry point. The CLI rows
run ``python -m vall_e`` in a subprocess and read the RTF it reports; the Interface rows time
``Interface.generate`` in this process after one warm-up call.
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SENTENCES = ["The train to the coast leaves early in the morning.",
             "Please put the green cup back on the kitchen shelf.",
             "She opened the window and listened to the rain."]
VOICES = ["kumo", "blend16"]


def cli_rows(model: str | None, threads: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for voice in VOICES:
            for text in SENTENCES:
                command = [sys.executable, "-m", "vall_e", text, voice, str(Path(tmp) / "out.wav"),
                           "--seed", "1", "--threads", str(threads)] + (["--model", model] if model else [])
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                out = done.stdout + done.stderr
                found = re.search(r"([\d.]+) s of audio.*?([\d.]+) s wall, RTF ([\d.]+)", out)
                rows.append({"entry": "cli", "voice": voice, "text": text, "audio": float(found.group(1)),
                             "seconds": float(found.group(2)), "rtf": float(found.group(3))})
    return rows


def interface_rows(model: str | None, threads: int) -> list[dict]:
    import torch

    from vall_e import GenerationConfig, Interface, InterfaceConfig, SamplerConfig

    torch.set_num_threads(threads)
    interface = Interface(InterfaceConfig(model_path=model) if model else None)
    rows = []
    for voice in VOICES:
        speaker = interface.named_speaker(voice)
        interface.generate(GenerationConfig(text="Warm up.", speaker=speaker))
        for text in SENTENCES:
            start = time.perf_counter()
            output = interface.generate(GenerationConfig(text=text, speaker=speaker,
                                                         sampler_config=None))
            seconds = time.perf_counter() - start
            audio = output.audio.numel() / output.sample_rate
            rows.append({"entry": "interface", "voice": voice, "text": text, "audio": audio,
                         "seconds": seconds, "rtf": seconds / audio})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="checkpoint (default: the embedded default)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    rows = cli_rows(args.model, args.threads) + interface_rows(args.model, args.threads)
    print("| entry | voice | sentence | audio s | synthesis s | RTF |\n|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['entry']} | {row['voice']} | {row['text'][:32]}... | {row['audio']:.2f} | "
              f"{row['seconds']:.2f} | {row['rtf']:.3f} |")
    for entry in ("cli", "interface"):
        rtfs = [r["rtf"] for r in rows if r["entry"] == entry]
        print(f"{entry}: median RTF {statistics.median(rtfs):.3f} (max {max(rtfs):.3f}, {args.threads} threads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
