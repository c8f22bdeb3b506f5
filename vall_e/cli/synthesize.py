"""`python -m vall_e TEXT REFERENCE OUT [flags]`: synthesize speech, or transcribe with --task stt.

The model is a checkpoint directory (--model) or the ``latest`` checkpoint of the run a
training YAML describes (--yaml), of either family (AR+NAR or LLM-TTS: the checkpoint says
which). Flags left unset take the checkpoint's inference defaults. For models trained with voice
names (Orpheus), REFERENCE may be a voice name instead of a recording.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vall_e.cli.sampling_flags import add_sampling_flags, sampling_params_from_args
from vall_e.errors import AudioError, ConfigError, VallEError

DESCRIPTION = "Synthesize TEXT in the voice of REFERENCE (a wav) into OUT, or transcribe (--task stt)."


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vall_e", description=DESCRIPTION)
    p.add_argument("text", help="text to speak (for --task stt: ignored, pass '')")
    p.add_argument("reference", help="reference recording whose voice is cloned (any format "
                   "soundfile reads), or a voice name of the model (e.g. tara for Orpheus)")
    p.add_argument("out", nargs="?", help="output wav path (required for --task tts)")
    src = p.add_argument_group("model")
    src.add_argument("--model", help="checkpoint directory: AR+NAR or LLM-TTS (also a plain "
                     "Orpheus Hugging Face directory)")
    src.add_argument("--allow-download", action="store_true",
                     help="let --model be a Hugging Face hub id and download it (needs internet)")
    src.add_argument("--yaml", help="training YAML; uses <train.output_dir>/latest")
    src.add_argument("--codec-path", help="codec weights directory, overriding the one the checkpoint names")
    src.add_argument("--device", default=None, help="auto (default), cpu, cuda, cuda:N")
    src.add_argument("--dtype", choices=["float32", "bfloat16"], default=None,
                     help="cast the model's float weights (default: as saved); the codec keeps its own")
    src.add_argument("--threads", type=int,
                     help="CPU threads for torch (default: torch's). On a machine whose cores are "
                          "busy with other work, 1 avoids threads waiting on each other: the "
                          "default model's AR step went from ~4 ms to ~300 ms beside one busy core")
    src.add_argument("--compile", action="store_true",
                     help="torch.compile the per-step decode function (static KV cache; a warm-up "
                          "at load; falls back to eager with a warning if compiling fails)")
    src.add_argument("--lora", metavar="ADAPTER_DIR",
                     help="LoRA adapter from python -m vall_e.finetune (method lora), merged into "
                          "the model at load; refused unless --model is the base it was trained on")
    src.add_argument("--speaker-offset", metavar="FILE",
                     help="speaker offset (<speaker>.offset.safetensors from python -m "
                          "vall_e.finetune, method offset) that selects the fine-tuned speaker")
    task = p.add_argument_group("task")
    task.add_argument("--task", choices=["tts", "stt"], default="tts",
                      help="tts: text -> speech (default); stt: REFERENCE -> IPA phonemes printed on stdout")
    task.add_argument("--language", help="espeak language code for phonemizing TEXT (e.g. en-us, en-gb, fr-fr)")
    task.add_argument("--max-ar-steps", type=int, help="hard cap on AR steps (frames of level 0); generation always ends")
    task.add_argument("--input-prompt-length", type=float,
                      help="seconds of the reference kept as the acoustic prompt (default from the checkpoint, 6)")
    task.add_argument("--levels", type=int,
                      help="AR+NAR over a residual codec: generate and decode only the first N code "
                           "levels (fewer NAR passes; default from the checkpoint: all)")
    task.add_argument("--prompt-text", help="transcript of REFERENCE (needed by --input-prompt-prefix "
                      "and by orpheus-layout models to clone a recording)")
    add_sampling_flags(p)
    p.add_argument("--quiet", action="store_true", help="print nothing but errors (and the stt transcript)")
    return p


def model_directory(args: argparse.Namespace) -> Path:
    if args.model and args.yaml:
        raise ConfigError("pass either --model or --yaml, not both")
    if args.model:
        return Path(args.model)
    if args.yaml:
        from vall_e.config import Config

        return Path(Config.from_yaml(args.yaml).train.output_dir) / "latest"
    from vall_e.default_model import default_model_dir

    return default_model_dir()  # the embedded default (a clear error when this install lacks it)


def _torch_dtype(name: str | None):
    import torch

    return getattr(torch, name) if name else None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from dataclasses import replace

    from vall_e.audio import save_audio
    from vall_e.inference.loader import load_engine

    if args.task == "tts" and not args.out:
        raise ConfigError("OUT is missing: give the path of the wav to write")
    sampling_params_from_args(args)  # impossible values fail before the slow model load
    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    model_dir = model_directory(args)
    reference = Path(args.reference)
    looks_like_path = reference.suffix != "" or len(reference.parts) > 1
    if looks_like_path and not reference.is_file():  # fail before the slow model load
        raise AudioError(f"audio file not found: {args.reference}; check the path")
    try:
        engine = load_engine(model_dir, args.device or "auto", args.codec_path,
                             _torch_dtype(args.dtype), allow_download=args.allow_download,
                             compile=args.compile, lora=args.lora,
                             speaker_offset=args.speaker_offset)
    except ValueError as exc:  # e.g. a CUDA device on a CPU machine
        if isinstance(exc, VallEError):
            raise
        raise ConfigError(str(exc)) from None
    if not reference.is_file() and args.reference not in engine.voices:
        voices = f" or one of its voices: {', '.join(engine.voices)}" if engine.voices else ""
        raise AudioError(f"audio file not found: {args.reference}; give a recording{voices}")
    params = sampling_params_from_args(args, engine.default_sampling)
    overrides = {k: v for k, v in {
        "language": args.language, "max_ar_steps": args.max_ar_steps,
        "input_prompt_length": args.input_prompt_length, "levels": args.levels}.items() if v is not None}
    if overrides.get("max_ar_steps", 1) <= 0:
        raise ConfigError("--max-ar-steps must be positive")
    if overrides.get("input_prompt_length", 1) <= 0:
        raise ConfigError("--input-prompt-length must be positive (seconds)")
    settings = replace(engine.defaults, **overrides)
    if args.task == "stt":
        if engine.family != "ar_nar":
            raise ConfigError("--task stt needs an AR+NAR model trained with the stt task")
        print(engine.stt(args.reference, params, max_steps=settings.max_ar_steps))
        return 0
    result = engine.tts(args.text, args.reference, params, settings, prompt_text=args.prompt_text)
    save_audio(args.out, result.audio, result.sample_rate)
    if not args.quiet:
        seconds = result.audio.numel() / result.sample_rate
        total = sum(result.seconds.values())
        note = "" if result.stopped else f" (cut off at --max-ar-steps {settings.max_ar_steps})"
        print(f"wrote {args.out}: {seconds:.2f} s of audio, {result.ar_steps} AR steps{note}, "
              f"{total:.2f} s wall, RTF {total / max(seconds, 1e-9):.2f}", file=sys.stderr)
        if params.layer_skip:
            print(f"layer-skip: {100 * result.stats.layer_fraction:.0f}% of AR layers run", file=sys.stderr)
        if params.refine_on_stop:
            print(f"refine-on-stop changed {result.stats.refine_changed} of {result.ar_steps} "
                  "level-0 codes", file=sys.stderr)
    return 0
