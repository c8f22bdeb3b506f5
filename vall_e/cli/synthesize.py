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

from vall_e.cli.common import OneLineParser, interrupts_raise
from vall_e.cli.sampling_flags import add_sampling_flags, sampling_params_from_args
from vall_e.cli.threads import add_threads_flag, set_threads
from vall_e.config import REPEAT_MODES, VOICE_MATCH_LEVELS
from vall_e.errors import AudioError, ConfigError, TextError, VallEError

DESCRIPTION = "Synthesize TEXT in the voice of REFERENCE (a wav) into OUT, or transcribe (--task stt)."


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m vall_e", description=DESCRIPTION)
    p.add_argument("text", help="text to speak (for --task stt: ignored, pass '')")
    p.add_argument("reference", help="reference recording whose voice is cloned (any format "
                   "soundfile reads), or a voice name of the model (e.g. tara for Orpheus)")
    p.add_argument("out", nargs="?", help="output audio path (required for --task tts); its "
                   "extension picks the format: .wav, .flac, .ogg (.mp3 where libsndfile writes it)")
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
    add_threads_flag(src)
    src.add_argument("--compile", action="store_true",
                     help="torch.compile the per-step decode function (static KV cache), or for a "
                          "shared-prefix model such as the default its passes over frames (a "
                          "warm-up at load; falls back to eager with a warning if compiling fails)")
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
    task.add_argument("--max-ar-steps", type=int, help="hard cap on AR steps (frames of level 0) "
                      "per sentence; generation always ends, and a sentence that reaches it is "
                      "named in a warning")
    task.add_argument("--batch-size", type=int, default=4,
                      help="sentences synthesized together (TEXT of any length is spoken whole, "
                           "sentence by sentence, joined with short pauses; default 4)")
    task.add_argument("--input-prompt-length", type=float,
                      help="seconds of the reference kept as the acoustic prompt (default from the checkpoint, 6)")
    task.add_argument("--repeat-short-prompt", choices=REPEAT_MODES,
                      help="AR+NAR: which passes read a reference shorter than the prompt "
                           "length repeated up to it, a short pause between the copies: the "
                           "NAR's levels (nar), every pass (all) or none (default from the "
                           "checkpoint)")
    task.add_argument("--voice-match", type=float, metavar="A",
                      help="AR+NAR over mel_rvq: move each output frame this share (0-1) of the "
                           "way toward its nearest frames of the reference (more of its voice; "
                           "0: off; default from the checkpoint)")
    task.add_argument("--voice-match-levels", choices=VOICE_MATCH_LEVELS,
                      help="what --voice-match moves: what the code levels above 0 add (fine: "
                           "the words stay) or whole log-mel frames (all: clearer voice, less "
                           "clear speech); default from the checkpoint")
    task.add_argument("--levels", type=int,
                      help="AR+NAR over a residual codec: generate and decode only the first N code "
                           "levels (fewer NAR passes; default from the checkpoint: all)")
    task.add_argument("--candidates", type=int,
                      help="shared-prefix AR+NAR models: level-0 candidates drawn per sentence, "
                           "the one the model's phoneme critic scores best kept (each costs a set "
                           "of level-0 passes; default from the checkpoint)")
    task.add_argument("--prompt-text", help="transcript of REFERENCE (needed by --input-prompt-prefix "
                      "and by orpheus-layout models to clone a recording)")
    add_sampling_flags(p)
    p.add_argument("--quiet", action="store_true", help="print nothing but errors, warnings "
                   "(text that was not spoken) and the stt transcript: no progress bar, no summary")
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


def _check_out(args: argparse.Namespace) -> None:
    """OUT can be written (format, directory, not the reference): checked before any work."""
    from vall_e.audio import check_output_path
    from vall_e.voices import find_voice

    voice = find_voice(args.reference)
    with interrupts_raise():  # its probe file is removed even on Ctrl-C
        check_output_path(args.out, inputs=(args.reference, voice.wav if voice else None))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from dataclasses import replace

    from vall_e.text import normalize_text

    if args.task == "tts":
        if not args.out:
            raise ConfigError("OUT is missing: give the path of the audio file to write")
        normalize_text(args.text)  # empty text fails before the slow model load
        _check_out(args)
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {args.batch_size}")
    sampling_params_from_args(args)  # impossible values fail before the slow model load
    set_threads(args.threads)
    model_dir = model_directory(args)
    reference = Path(args.reference)
    looks_like_path = reference.suffix != "" or len(reference.parts) > 1
    if looks_like_path and not reference.is_file():  # fail before the slow model load
        raise AudioError(f"audio file not found: {args.reference}; check the path")
    from vall_e.inference.loader import load_engine

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
        "input_prompt_length": args.input_prompt_length, "levels": args.levels,
        "candidates": args.candidates,
        "repeat_short_prompt": args.repeat_short_prompt,
        "voice_match": args.voice_match,
        "voice_match_levels": args.voice_match_levels}.items() if v is not None}
    if overrides.get("max_ar_steps", 1) <= 0:
        raise ConfigError("--max-ar-steps must be positive")
    if not 0 <= overrides.get("voice_match", 0) <= 1:
        raise ConfigError("--voice-match must be between 0 and 1 (0: off)")
    if overrides.get("candidates", 1) < 1:
        raise ConfigError("--candidates must be >= 1 (1: no ranking)")
    if overrides.get("input_prompt_length", 1) <= 0:
        raise ConfigError("--input-prompt-length must be positive (seconds)")
    settings = replace(engine.defaults, **overrides)
    if args.task == "stt":
        if not hasattr(engine, "stt"):  # a capability, not part of the Engine protocol
            raise ConfigError("--task stt needs an AR+NAR model trained with the stt task")
        print(engine.stt(args.reference, params, max_steps=settings.max_ar_steps))
        return 0
    return _tts(args, engine, params, settings)


def _tts(args: argparse.Namespace, engine, params, settings) -> int:
    """Speak all of TEXT (sentence by sentence, ``vall_e.inference.long_form``) into OUT."""
    import warnings

    from vall_e.audio import save_audio
    from vall_e.inference.long_form import speak

    if params.input_prompt_prefix and not (args.prompt_text and args.prompt_text.strip()):
        raise TextError("--input-prompt-prefix needs the reference's transcript: "
                        "add --prompt-text \"what the reference says\"")
    speaker = engine.speaker_for(args.reference, params, settings, args.prompt_text)
    result = speak(engine, args.text, speaker, params, settings, batch_size=args.batch_size,
                   progress=not args.quiet)
    with interrupts_raise():  # Ctrl-C while writing: the temporary file is removed
        save_audio(args.out, result.audio, result.sample_rate)
    for index in result.cut:  # never silent: the words after the cap are not in the audio
        piece = result.pieces[index]
        shown = piece if len(piece) <= 80 else piece[:77] + "..."
        warnings.warn(f"sentence {index + 1} of {len(result.pieces)} reached --max-ar-steps "
                      f"{settings.max_ar_steps} and was cut off (its end is missing): {shown!r}; "
                      "raise --max-ar-steps", stacklevel=1)
    if not args.quiet:
        seconds = result.audio.numel() / result.sample_rate
        total = sum(result.seconds.values())
        pieces = f"{len(result.pieces)} sentences, " if len(result.pieces) > 1 else ""
        # a durations model has no AR loop: its count is the level-0 frames it filled in parallel
        parallel = getattr(getattr(engine, "model", None), "durations_mode", None) is not None
        steps = "frames" if parallel else "AR steps"
        print(f"wrote {args.out}: {seconds:.2f} s of audio, {pieces}{result.ar_steps} {steps}, "
              f"{total:.2f} s wall, RTF {total / max(seconds, 1e-9):.2f}", file=sys.stderr)
        stats = [r.stats for r in result.results if r.stats is not None]
        if params.layer_skip and stats:
            fraction = sum(s.layer_fraction for s in stats) / len(stats)
            print(f"layer-skip: {100 * fraction:.0f}% of AR layers run", file=sys.stderr)
        if params.refine_on_stop and stats:
            changed = sum(s.refine_changed for s in stats)
            print(f"refine-on-stop changed {changed} of {result.ar_steps} level-0 codes",
                  file=sys.stderr)
    return 0
