"""The embedded default model: an AR+NAR checkpoint with its codec inside, in ``vall_e/assets/default``.

It is what ``python -m vall_e TEXT REF OUT`` and ``Interface(InterfaceConfig())`` use when no model
is named. ``package_default`` builds that directory from a training run's checkpoint and a codec
directory: the checkpoint's codec path is rewritten to the ``codec`` folder inside it (the
loader tries a relative codec path inside the checkpoint first), and floating-point weights
are stored in a smaller dtype (bfloat16 halves the size; loading casts back to float32).
Three decisions measured at shipping time go into the shipped copy, not the run: ``levels`` (the
NAR levels worth decoding, ``inference.levels``), ``sampling`` (the sampler settings it speaks
best with, ``inference.sampling``) and ``int8`` (weight-only int8 linears, the
``python -m vall_e.quantize`` format: faster AR steps on CPU).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from vall_e.checkpoint_format import META_FILE, metadata_file
from vall_e.config import Config
from vall_e.align.critic import CRITIC_DIR, load_critic, save_critic
from vall_e.errors import CheckpointError, ConfigError
from vall_e.models.integrity import checksum_metadata

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "assets" / "default"
CODEC_FOLDER = "codec"


def default_model_dir() -> Path:
    """The shipped checkpoint directory, or a one-line error when this install has none."""
    if metadata_file(DEFAULT_MODEL_DIR) is None:  # vall_e.json, or config.json if shipped before
        raise CheckpointError(
            f"no model given and this install has no embedded default model ({DEFAULT_MODEL_DIR} "
            "is missing): pass --model DIR, or reinstall from a full checkout")
    return DEFAULT_MODEL_DIR


def _cast_weights(source: Path, target: Path, dtype: torch.dtype, metadata: dict | None = None) -> None:
    try:
        state = load_file(str(source))
    except Exception as exc:  # safetensors raises its own types for truncated files
        raise CheckpointError(f"{source} is corrupt: {str(exc).splitlines()[0]}") from None
    cast = {k: (v.to(dtype) if v.is_floating_point() else v).contiguous() for k, v in state.items()}
    save_file(cast, str(target), metadata=checksum_metadata(cast, metadata))


def package_default(model_dir: str | Path, codec_dir: str | Path, out_dir: str | Path = DEFAULT_MODEL_DIR,
                    dtype: torch.dtype = torch.bfloat16, levels: int | None = None,
                    int8: bool = False, sampling: dict | None = None,
                    stream_first_steps: int | None = None,
                    stream_levels: int | None = None,
                    stream_lookahead: int | None = None, pace: float | None = None,
                    input_prompt_length: float | None = None, critic_dir: str | Path | None = None,
                    candidates: int | None = None,
                    repeat_short_prompt: str | None = None,
                    voice_match: float | None = None,
                    voice_match_levels: str | None = None) -> Path:
    """Write ``out_dir`` = the AR+NAR checkpoint ``model_dir`` + the codec ``codec_dir`` inside it.

    Both are loaded first, so a broken source is refused before anything is written, and the
    result is written atomically (a failed run leaves the previous default in place).
    ``levels`` sets the shipped ``inference.levels``, ``sampling`` its ``inference.sampling``
    (e.g. ``{"ar_temp": 0.6}``), ``pace`` its ``inference.pace``, ``input_prompt_length`` the
    seconds of a reference it keeps as the voice prompt; ``critic_dir`` a phoneme critic
    (``vall_e.align.critic``) shipped beside the weights and ``candidates`` the level-0
    candidates it ranks per sentence; ``repeat_short_prompt`` its
    ``inference.repeat_short_prompt`` (``vall_e.inference.prompt_fill``), ``voice_match`` its
    ``inference.voice_match`` and ``voice_match_levels`` its ``inference.voice_match_levels``
    (``vall_e.codecs.mel.voice_match``); ``int8`` stores the model's linear layers
    as int8 (one scale per row) instead of ``dtype``.
    """
    from vall_e.codecs.mel.codec import load_mel_model
    from vall_e.models.checkpoint import (
        FORMAT,
        VOCAB_FILE,
        WEIGHTS_FILE,
        load_checkpoint,
        staged_directory,
    )

    model_dir, codec_dir = Path(model_dir), Path(codec_dir)
    loaded = load_checkpoint(model_dir)
    if loaded.codec_info.name != "mel_rvq":
        raise CheckpointError(f"{model_dir} was trained on {loaded.codec_info.describe()}; the "
                              "default model ships with our own mel_rvq codec")
    load_mel_model(codec_dir)
    meta = json.loads(metadata_file(model_dir).read_text())  # the run's layout, old or new
    meta["config"]["codec"]["path"] = CODEC_FOLDER
    meta["config"]["codec"]["allow_download"] = False
    inference = meta["config"].setdefault("inference", {})
    settings = {"levels": levels, "stream_first_steps": stream_first_steps,
                "stream_levels": stream_levels, "stream_lookahead": stream_lookahead, "pace": pace,
                "input_prompt_length": input_prompt_length, "candidates": candidates,
                "repeat_short_prompt": repeat_short_prompt, "voice_match": voice_match,
                "voice_match_levels": voice_match_levels}
    inference.update({name: value for name, value in settings.items() if value is not None})
    if sampling:
        inference["sampling"] = dict(sampling)
    if inference.get("candidates", 1) > 1 and critic_dir is None:
        raise ConfigError(f"candidates {inference['candidates']} needs a phoneme critic to rank them "
                          "(critic_dir / --critic)")
    if critic_dir is not None:
        critic = load_critic(critic_dir, loaded.tokenizer.vocab)  # other phonemes stop here
    Config.from_dict(meta["config"])  # impossible levels or sampler values stop here, before writing
    with staged_directory(out_dir) as staging:
        (staging / META_FILE).write_text(json.dumps(meta, indent=2))
        shutil.copyfile(model_dir / VOCAB_FILE, staging / VOCAB_FILE)
        _cast_weights(model_dir / WEIGHTS_FILE, staging / WEIGHTS_FILE, dtype, {"format": FORMAT})
        (staging / CODEC_FOLDER).mkdir()
        shutil.copyfile(codec_dir / "config.json", staging / CODEC_FOLDER / "config.json")
        _cast_weights(codec_dir / "model.safetensors", staging / CODEC_FOLDER / "model.safetensors", dtype)
        if critic_dir is not None:
            save_critic(critic, staging / CRITIC_DIR, loaded.tokenizer.vocab, dtype)
        if int8:
            _quantize_in_place(staging)
    return Path(out_dir)


def _quantize_in_place(directory: Path) -> None:
    """Replace the float checkpoint in ``directory`` by its int8 copy (codec folder kept)."""
    from vall_e.atomic import swap_into_place
    from vall_e.quantize.checkpoint import quantize_checkpoint
    from vall_e.quantize.convert import QuantSpec

    quantized = directory.with_name(directory.name + ".int8")
    try:
        quantize_checkpoint(directory, quantized, QuantSpec(bits=8, group_size=0))
        swap_into_place(quantized, directory)
    finally:
        shutil.rmtree(quantized, ignore_errors=True)


def directory_megabytes(directory: str | Path) -> float:
    return sum(f.stat().st_size for f in Path(directory).rglob("*") if f.is_file()) / 1e6
