"""The new speaker's data: prepared with the base's codec, read with the base's vocabulary.

``speaker_utterances`` runs ``vall_e.data.prepare`` on the speaker folder (resumable, bad files
skipped and listed) and insists on exactly one speaker. ``datasets`` builds the same training
examples the family trains on (a prompt is another clip of the speaker), split into training
and held-out clips; ``heldout_loss`` scores a model on the held-out ones with the training
loss (AR+NAR: AR + NAR with fixed levels; LLM-TTS: the speech tokens), which is how the
fine-tune shows it helped.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import Dataset

from vall_e.config import Config
from vall_e.data.shards import Utterance, load_prepared
from vall_e.errors import ConfigError, DataError
from vall_e.finetune.base import BaseModel, model_device
from vall_e.finetune.family import finetune_family
from vall_e.training.dataset import split_train_val


def speaker_utterances(config: Config, speaker_data: str | Path, base: BaseModel,
                       progress: bool) -> tuple[str, list[Utterance]]:
    """Prepare ``speaker_data`` into ``config.data.path``; returns (speaker, utterances)."""
    from vall_e.data.prepare import prepare

    device = "cuda" if config.train.accelerator in ("gpu", "cuda", "auto") and \
        torch.cuda.is_available() else "cpu"
    report = prepare(config, speaker_data, config.data.path, progress=progress, device=device)
    if progress:
        print(report.summary())
    info, utterances = load_prepared(config.data.path)
    base.codec_info.require_match(info, context=f"speaker data {config.data.path}",
                                  hint="prepare it with the base model's codec")
    speakers = sorted({u.speaker for u in utterances})
    if len(speakers) != 1:
        raise DataError(f"{speaker_data} holds {len(speakers)} speakers ({', '.join(speakers)}); "
                        "a speaker fine-tune takes one: give a folder with one speaker folder")
    if len(utterances) < 2:
        raise DataError(f"{speaker_data} gave {len(utterances)} usable clip(s); a fine-tune "
                        "needs at least 2 (some are held out to measure it)")
    untimed = [u.id for u in utterances if u.durations is None]
    if untimed and getattr(base.model, "pointer", None) is not None:
        # the base reads each frame's phoneme: training it on clips without durations fails
        raise DataError(
            f"{len(untimed)} of {len(utterances)} clips in {speaker_data} have no phoneme "
            f"durations (e.g. {untimed[0]}: no .timing.json and no aligner), which this base "
            "(model.alignment: durations/pointer) needs: set data.aligner: data/aligner in "
            f"the recipe and prepare again (remove {config.data.path})")
    return speakers[0], utterances


def datasets(base: BaseModel, config: Config,
             utterances: list[Utterance]) -> tuple[Dataset, Dataset, Callable]:
    """(training set, held-out set, collate function) for ``base``'s family."""
    train_utts, val_utts = split_train_val(utterances, config.data.val_fraction)
    prompt_frames = max(1, round(config.data.prompt_seconds * base.codec_info.frame_rate))
    return base.ops.datasets(base, config, train_utts, val_utts, prompt_frames)


def batch_tokens(family: str, batch: dict) -> int:
    """Positions one batch feeds the network: AR+NAR, phonemes + prompt frames + target
    frames of each example; LLM-TTS, the non-padding ids."""
    return finetune_family(family).batch_tokens(batch)


def _to(batch: dict, device: torch.device) -> dict:
    def move(value):
        if isinstance(value, torch.Tensor):
            return value.to(device)
        if isinstance(value, list):
            return [move(v) for v in value]
        return value

    return {key: move(value) for key, value in batch.items()}


HELDOUT_SEED = 1234  # the masks and NAR levels the held-out loss draws, the same every time


@torch.no_grad()
def heldout_loss(model: torch.nn.Module, family: str, loader) -> float:
    """Mean training loss of ``model`` over ``loader`` (per example), in eval mode.

    The loss draws random masks and NAR levels; they come from a fixed seed (the caller's
    random state is left as it was), so the measurements before and after a fine-tune score
    the same draws and their difference is the fine-tune's, not the draws'."""
    if len(loader.dataset) == 0:
        raise ConfigError("no held-out clips to measure the fine-tune on; raise data.val_fraction")
    ops = finetune_family(family)
    was_training = model.training
    device = model_device(model)
    model.eval()
    total, count = 0.0, 0
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(HELDOUT_SEED)
        try:
            for batch in loader:
                batch = _to(batch, device)
                loss, size = ops.batch_loss(model, batch)
                total += float(loss) * size
                count += size
        finally:
            model.train(was_training)
    return total / count
