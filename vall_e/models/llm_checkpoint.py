"""LLM-TTS checkpoints: a Hugging Face model directory plus ``vall_e.json``.

Our LLM checkpoints are ordinary ``save_pretrained`` directories (``config.json``,
``model.safetensors``, the tokenizer or ``vocab.json``), so any transformers tool can open
them; ``vall_e.json`` adds what TTS needs: the layout, the codec, the experiment config and the
voice names the model was trained with. A directory *without* ``vall_e.json`` whose vocabulary
covers the Orpheus ids is read as an Orpheus checkpoint (SNAC codes, the eight Orpheus voices),
so a real Orpheus download works unmodified.

Hub ids are fetched only when asked (``allow_download``); offline that fails with one line.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from vall_e.atomic import read_json, staged_directory
from vall_e.checkpoint_format import FORMAT, META_FILE, VERSION, Checkpoint, check_format
from vall_e.codecs.base import CodecInfo
from vall_e.config import CodecConfig, Config, ModelConfig
from vall_e.errors import CheckpointError, VallEError
from vall_e.hf_progress import quiet_hf_progress
from vall_e.models.llm_layouts import (
    ORPHEUS_VOICES,
    OrpheusLayout,
    load_hf_tokenizer,
    load_layout,
)
from vall_e.models.llm_tts import LLMTTSModel

# SNAC 24 kHz seen through our codec protocol: 7 sub-levels per 2048-sample frame
SNAC_24KHZ_INFO = CodecInfo("snac", 24000, 24000 / 2048, 7, 4096)


def is_hf_directory(directory: Path) -> bool:
    """A ``save_pretrained`` directory (its ``config.json`` has a ``model_type``; an older
    AR+NAR checkpoint's ``config.json`` is our metadata record and has none)."""
    config = Path(directory) / "config.json"
    if not config.is_file():
        return False
    try:
        meta = json.loads(config.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(meta, dict) and "model_type" in meta


def save_llm_checkpoint(directory: str | Path, model: LLMTTSModel, config: Config,
                        codec_info: CodecInfo, step: int = 0, voices: list | None = None) -> Path:
    """Write an LLM-TTS checkpoint directory atomically (replacing an existing one)."""
    with staged_directory(directory) as staging:
        with quiet_hf_progress():
            model.lm.save_pretrained(str(staging))
        model.layout.save(staging)
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "family": "llm",
            "step": step,
            "layout": model.layout.to_dict(),
            "codec": codec_info.to_dict(),
            "voices": sorted(voices or []),
            "config": config.to_dict(),
        }
        (staging / META_FILE).write_text(json.dumps(meta, indent=2))
    return Path(directory)


def load_lm(directory: str | Path, dtype: torch.dtype | None = None):
    """``AutoModelForCausalLM`` from a local directory (never the network)."""
    from transformers import AutoModelForCausalLM

    try:
        with quiet_hf_progress():
            return AutoModelForCausalLM.from_pretrained(
                # use_safetensors: a pickled pytorch_model.bin is never loaded (it can run code)
                str(directory), local_files_only=True, use_safetensors=True,
                **({"dtype": dtype} if dtype else {}))
    except Exception as exc:  # transformers raises OSError / ValueError / EnvironmentError alike
        reason = " ".join(str(exc).split())[:200]
        raise CheckpointError(f"{directory}: the model does not load ({reason})") from None


def _fetch(source: str, allow_download: bool) -> Path:
    """The local directory for ``source``; a hub id is downloaded (only when allowed)."""
    path = Path(source).expanduser()
    if path.is_dir():
        return path
    if not allow_download:
        raise CheckpointError(f"model not found: {source} is not a directory (to fetch a hub id, "
                              "allow downloads: --allow-download / "
                              "InterfaceConfig(allow_download=True))")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(source))
    except Exception as exc:
        reason = " ".join(str(exc).split())[:200]
        raise CheckpointError(f"could not download '{source}' from the Hugging Face hub "
                              f"({reason}); check the connection or pass a local directory") from None


def load_llm_checkpoint(source: str | Path, device: str | torch.device | None = "cpu",
                        dtype: torch.dtype | None = None, allow_download: bool = False,
                        lm_loader=None) -> Checkpoint:
    """The LLM-TTS checkpoint ``source`` (ours, or a plain Hugging Face directory read as
    Orpheus), in eval mode on ``device``; users call ``vall_e.checkpoint.load_checkpoint``.

    ``lm_loader(directory, dtype)``, when given, builds the causal LM instead (unsloth's
    loader places the weights itself: ``device=None`` leaves them where it put them)."""
    directory = _fetch(str(source), allow_download)
    meta_path = directory / META_FILE
    if meta_path.is_file():
        loaded = _load_ours(directory, meta_path, dtype, lm_loader)
    elif is_hf_directory(directory):
        loaded = _load_orpheus(directory, dtype, lm_loader)
    else:
        raise CheckpointError(f"{directory} is neither a vall_e LLM checkpoint ({META_FILE}) nor "
                              "a Hugging Face model directory (config.json with model_type)")
    if device is not None:
        loaded.model.to(device)
    loaded.model.eval()
    return loaded


def _load_ours(directory: Path, meta_path: Path, dtype, lm_loader=None) -> Checkpoint:
    meta = check_format(read_json(meta_path), meta_path, "llm")
    try:
        config = Config.from_dict(meta["config"], source=str(meta_path))
        codec_info = CodecInfo.from_dict(meta["codec"])
        layout = load_layout(meta["layout"], directory)
    except (KeyError, TypeError) as exc:
        raise CheckpointError(f"{meta_path} is invalid: missing {exc}") from None
    except VallEError as exc:
        raise CheckpointError(f"{meta_path} is invalid: {exc}") from None
    from vall_e.quantize.runtime import is_quantized, load_quantized_lm

    if lm_loader is not None:
        lm = lm_loader(directory, dtype)
    elif is_quantized(directory):
        lm = load_quantized_lm(directory, dtype)
    else:
        lm = load_lm(directory, dtype)
    model = _wrap(lm, layout, directory)
    return Checkpoint("llm", model, config, codec_info, directory, int(meta.get("step", 0)),
                      voices=list(meta.get("voices", [])))


def _load_orpheus(directory: Path, dtype, lm_loader=None) -> Checkpoint:
    hf_config = json.loads((directory / "config.json").read_text())
    layout = OrpheusLayout(load_hf_tokenizer(directory))
    if int(hf_config.get("vocab_size", 0)) < layout.vocab_size:
        raise CheckpointError(
            f"{directory} is a Hugging Face model without {META_FILE}, read as Orpheus, but its "
            f"vocabulary ({hf_config.get('vocab_size')}) lacks the Orpheus audio ids "
            f"(needs {layout.vocab_size})")
    config = Config(
        model=ModelConfig(family="llm", layout="orpheus", base_model=str(directory),
                          max_positions=int(hf_config.get("max_position_embeddings", 8192))),
        codec=CodecConfig(name="snac", n_levels=7),
    ).validate()
    model = _wrap((lm_loader or load_lm)(directory, dtype), layout, directory)
    return Checkpoint("llm", model, config, SNAC_24KHZ_INFO, directory, 0,
                      voices=list(ORPHEUS_VOICES))


def _wrap(lm, layout, directory: Path) -> LLMTTSModel:
    try:
        return LLMTTSModel(lm, layout)
    except ValueError as exc:
        raise CheckpointError(f"{directory}: {exc}") from None
