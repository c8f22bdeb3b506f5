"""What a loaded checkpoint is, and the one format/version check both families' metadata pass.

A leaf below every loader (it imports only the config, codec-info and error types): the family
readers (``models.checkpoint``, ``models.llm_checkpoint``) return a ``Checkpoint``, and
``vall_e.checkpoint.load_checkpoint`` (the one entry point users call) hands it on. On disk both
families write the same metadata record ``{"format", "version", "family", "step", "codec",
"config", ...}`` to the same file, ``META_FILE`` (``vall_e.json``; an LLM-TTS checkpoint's
``config.json`` is the Hugging Face model's own). AR+NAR checkpoints written before that kept
the record in ``config.json`` (``LEGACY_META_FILE``); they are still read (``metadata_file``),
never written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vall_e.codecs.base import CodecInfo
from vall_e.config import Config
from vall_e.errors import CheckpointError

FORMAT = "vall_e.checkpoint"
VERSION = 1
FAMILY_NAMES = {"ar_nar": "AR+NAR", "llm": "LLM-TTS"}
META_FILE = "vall_e.json"  # the metadata record of either family
LEGACY_META_FILE = "config.json"  # where AR+NAR checkpoints kept it before (read, not written)


def metadata_file(directory: str | Path) -> Path | None:
    """The file holding a checkpoint directory's metadata record: ``vall_e.json``, else an
    older AR+NAR checkpoint's ``config.json``; None when it has neither. (A plain Hugging Face
    directory's ``config.json`` is no such record: ``vall_e.checkpoint.checkpoint_family``
    tells those apart before asking.)"""
    for name in (META_FILE, LEGACY_META_FILE):
        path = Path(directory) / name
        if path.is_file():
            return path
    return None


@dataclass
class Checkpoint:
    """One loaded checkpoint of either family (the only record of one)."""

    family: str  # "ar_nar" or "llm"
    model: object  # ARNARModel or LLMTTSModel (an nn.Module)
    config: Config
    codec_info: CodecInfo
    path: Path
    step: int = 0
    # the text front end's vocabulary: AR+NAR its PhonemeTokenizer; LLM-TTS None (its layout,
    # ``model.layout``, maps text to ids)
    tokenizer: object = None
    voices: list = field(default_factory=list)  # LLM-TTS: names the model was trained to speak as


def check_format(meta, path: str | Path, family: str) -> dict:
    """``meta`` (parsed from ``path``) if it is this format's current version for ``family``;
    else one ``CheckpointError`` saying what is wrong."""
    name = FAMILY_NAMES[family]
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} does not describe a vall_e {name} checkpoint "
                              "(format field missing)")
    if meta.get("family") != family:
        raise CheckpointError(f"{path} does not describe a vall_e {name} checkpoint: it holds "
                              f"a '{meta.get('family')}' model, not an {name} model")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{Path(path).parent} has checkpoint version {meta.get('version')}; "
                              f"this vall_e reads {VERSION}")
    return meta
