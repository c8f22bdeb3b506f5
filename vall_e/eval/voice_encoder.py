"""A speaker encoder over the mel_rvq codec's log-mel, trained on a corpus's own voices: a second
voice judge beside Resemblyzer, and a finer one for voices like the corpus's.

Resemblyzer was trained on real speakers; the default model's voices are blends of a few
teacher voices that it hears as near neighbours. An encoder trained on the blends themselves
tells them apart (on the default corpus's four held-out voices: cosine 0.92 within a voice,
-0.16 between, docs/default-model.md), so it can say where a clone sits among the voices a
model knows: nearer its own voice, or nearer one it was trained on (``voice_positions``).

It reads log-mel frames, the codec's dequantized codes (``codes_to_log_mel``), so training
needs only prepared shards, no audio. Five dilated convolutions, attention-weighted mean and
deviation pooling, an additive-margin softmax over the training speakers.
"""
from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from vall_e.errors import CheckpointError, DataError
from vall_e.models.voice_encoder import VoiceEncoder, VoiceEncoderConfig
from vall_e.module_files import save_module

CONFIG_FILE = "voice_encoder.json"
WEIGHTS_FILE = "voice_encoder.safetensors"


def codes_to_log_mel(mel_model, codes: torch.Tensor, levels: int) -> torch.Tensor:
    """Codes [K, T] of the mel_rvq codec -> its log-mel [M, 2T] from the first ``levels``."""
    if codes.shape[0] < levels:
        raise DataError(f"the voice encoder reads {levels} codec levels; these codes have "
                        f"{codes.shape[0]}: prepare the data with at least {levels}")
    with torch.inference_mode():
        return mel_model.dequantize(codes[None, :levels].long())[0].float()


def audio_to_log_mel(mel_model, audio: torch.Tensor, levels: int) -> torch.Tensor:
    """A waveform [S] at the codec's rate through the codec (analysis, quantized to ``levels``):
    the log-mel the encoder reads, made as the shards' was."""
    with torch.inference_mode():
        codes, _ = mel_model.quantize(mel_model.analysis(audio.reshape(1, -1)), levels)
    return codes_to_log_mel(mel_model, codes[0], levels)


def shard_log_mels(mel_model, utterances, levels: int) -> tuple[list[torch.Tensor], list[str]]:
    """Prepared utterances (``vall_e.data.shards``) -> (their log-mels, their speakers)."""
    mels = [codes_to_log_mel(mel_model, torch.from_numpy(u.codes.astype("int64")), levels)
            for u in utterances]
    return mels, [u.speaker for u in utterances]


def _crop(mel: torch.Tensor, frames: int, rng: random.Random) -> torch.Tensor:
    if mel.shape[1] <= frames:
        return F.pad(mel, (0, frames - mel.shape[1]), value=float(mel.min()))
    start = rng.randrange(mel.shape[1] - frames)
    return mel[:, start:start + frames]


def train_voice_encoder(mels: Sequence[torch.Tensor], speakers: Sequence[str], *,
                        config: VoiceEncoderConfig | None = None, steps: int = 1500,
                        batch_size: int = 64, crop_frames: tuple[int, int] = (150, 300),
                        learning_rate: float = 2e-3, margin: float = 0.2, scale: float = 30.0,
                        seed: int = 0, progress: bool = False) -> VoiceEncoder:
    """Train on log-mels [M, T] labelled by speaker: random crops of ``crop_frames`` frames
    (1.5-3 s at the codec's 100 Hz mel rate), additive-margin softmax (``margin`` subtracted
    from the true speaker's cosine, times ``scale``), one-cycle AdamW."""
    names = sorted(set(speakers))
    if len(names) < 2:
        raise DataError(f"a voice encoder learns to tell voices apart: got {len(names)} speaker(s); "
                        "give data with at least 2")
    if len(mels) != len(speakers):
        raise ValueError(f"{len(mels)} log-mels but {len(speakers)} speaker labels")
    config = config or VoiceEncoderConfig(n_mels=mels[0].shape[0])
    if mels[0].shape[0] != config.n_mels:
        raise ValueError(f"log-mels have {mels[0].shape[0]} bins; the config says {config.n_mels}")
    rng = random.Random(seed)
    torch.manual_seed(seed)
    labels = torch.tensor([names.index(s) for s in speakers])
    encoder = VoiceEncoder(config)
    centres = torch.nn.Parameter(torch.randn(len(names), config.dim) * 0.01)
    optimizer = torch.optim.AdamW([*encoder.parameters(), centres], lr=learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, learning_rate, total_steps=steps,
                                                   pct_start=0.1)
    encoder.train()
    for step in range(steps):
        index = [rng.randrange(len(mels)) for _ in range(batch_size)]
        frames = rng.randint(*crop_frames)
        batch = torch.stack([_crop(mels[i], frames, rng) for i in index])
        target = labels[index]
        cosine = encoder(batch) @ F.normalize(centres, dim=-1).T
        loss = F.cross_entropy(scale * (cosine - margin * F.one_hot(target, len(names))), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if progress and (step % 100 == 0 or step == steps - 1):
            accuracy = (cosine.argmax(-1) == target).float().mean().item()
            print(f"step {step}: loss {loss.item():.3f}, speaker accuracy {accuracy:.2f}",
                  file=sys.stderr, flush=True)
    return encoder.eval()


def save_voice_encoder(encoder: VoiceEncoder, directory: str | Path) -> Path:
    return save_module(encoder, encoder.config, directory, WEIGHTS_FILE, CONFIG_FILE)


def load_voice_encoder(directory: str | Path) -> VoiceEncoder:
    directory = Path(directory)
    try:
        encoder = VoiceEncoder(VoiceEncoderConfig(**json.loads((directory / CONFIG_FILE).read_text())))
        encoder.load_state_dict(load_file(directory / WEIGHTS_FILE))
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"{directory}: not a voice encoder directory "
                              f"({' '.join(str(exc).split())}); train one with "
                              "python scripts/train_voice_encoder.py --out DIR") from None
    return encoder.eval()


def centroid(embeddings: Sequence[torch.Tensor]) -> torch.Tensor:
    """The unit-length mean of a voice's embeddings: where the voice sits."""
    return F.normalize(torch.stack(list(embeddings)).mean(0), dim=0)


@dataclass
class VoicePosition:
    own: float  # mean cosine to the own voice's centroid
    nearest_other: float  # mean cosine to the nearest other voice's centroid
    own_nearest: float  # share of embeddings whose nearest centroid is their own voice's
    count: int


def voice_positions(embeddings: Sequence[torch.Tensor], own: str,
                    centroids: dict[str, torch.Tensor]) -> VoicePosition:
    """Where ``embeddings`` of voice ``own`` sit among ``centroids`` (every known voice, own
    included): how close to their own voice, how close to the nearest other, and how often the
    own voice is the nearest of all."""
    if own not in centroids:
        raise ValueError(f"voice {own!r} has no centroid; give it one (its other recordings)")
    if not embeddings:
        raise ValueError(f"no embeddings of voice {own!r} to place")
    names = list(centroids)
    table = torch.stack([centroids[n] for n in names])
    others = [i for i, n in enumerate(names) if n != own]
    own_index = names.index(own)
    cos = torch.stack(list(embeddings)) @ table.T  # [N, voices]
    return VoicePosition(own=float(cos[:, own_index].mean()),
                         nearest_other=float(cos[:, others].max(1).values.mean()),
                         own_nearest=float((cos.argmax(1) == own_index).float().mean()),
                         count=len(embeddings))
