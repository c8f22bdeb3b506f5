"""Pieces of codec training: the audio pool, random segments, losses, the LightningModule and
the callback that exports a loadable codec directory. The entry point is ``vall_e.codecs.train``.

The vocoder's input changes at ``clean_steps``: before, the exact log-mel; after, the log-mel
rebuilt from the codes, because a decoder trained only on clean mels is the floor for quantized
input (ASSETS.md). One Lightning run covers both stages, so resuming needs no stage bookkeeping.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import IterableDataset

from vall_e.audio import load_audio
from vall_e.codecs.mel.codec import MelCodecSpec, MelModel, save_mel_model
from vall_e.codecs.mel.train_config import CodecTrainConfig
from vall_e.codecs.mel.vocoder import VocoderSpec
from vall_e.errors import AudioError, DataError
from vall_e.atomic import staged_directory
from vall_e.training.schedule import warmup_cosine

STFT_RESOLUTIONS = ((512, 120), (1024, 240), (2048, 480))  # (n_fft, hop) for the MR-STFT loss


def spec_for(config: CodecTrainConfig) -> MelCodecSpec:
    return MelCodecSpec(levels=config.levels, codebook_size=config.codebook_size,
                        vocoder=VocoderSpec(dim=config.vocoder_dim, blocks=config.vocoder_blocks,
                                            intermediate=config.vocoder_intermediate))


def load_pool(folder: str | Path, sample_rate: int) -> list[torch.Tensor]:
    """Every readable *.wav under ``folder`` as int16 (half the memory of float32)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"codec training input {folder} is not a directory of wav files")
    pool, skipped = [], 0
    for path in sorted(folder.rglob("*.wav")):
        try:
            wav = load_audio(path, sample_rate, trim=False)
        except AudioError:
            skipped += 1  # a silent or broken file should not stop hours of training
            continue
        pool.append((wav.clamp(-1, 1) * 32767).round().to(torch.int16))
    if not pool:
        raise DataError(f"no usable *.wav files under {folder} ({skipped} unreadable or silent)")
    return pool


class Segments(IterableDataset):
    """Endless random ``samples``-long crops, files chosen in proportion to their length.

    ``start`` (the global step of this start) enters the seed so a resumed run draws new crops
    instead of replaying the ones it trained on first.
    """

    def __init__(self, pool: list[torch.Tensor], samples: int, seed: int, start: int = 0) -> None:
        self.pool, self.samples, self.seed, self.start = pool, samples, seed, start
        self.weights = torch.tensor([float(len(w)) for w in pool])

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.start)
        while True:
            wav = self.pool[int(torch.multinomial(self.weights, 1, generator=generator))]
            spare = len(wav) - self.samples
            if spare < 0:
                crop = torch.nn.functional.pad(wav, (0, -spare))
            else:
                offset = int(torch.randint(spare + 1, (1,), generator=generator))
                crop = wav[offset : offset + self.samples]
            yield crop.float() / 32767


def mr_stft_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Multi-resolution STFT: spectral convergence + log-magnitude L1, averaged over sizes."""
    total = pred.new_zeros(())
    for n_fft, hop in STFT_RESOLUTIONS:
        window = torch.hann_window(n_fft, device=pred.device)
        mags = [torch.stft(x, n_fft, hop, window=window, return_complex=True).abs().clamp(min=1e-7)
                for x in (pred, target)]
        convergence = torch.linalg.norm(mags[1] - mags[0]) / torch.linalg.norm(mags[1])
        total = total + convergence + (mags[0].log() - mags[1].log()).abs().mean()
    return total / len(STFT_RESOLUTIONS)


class VocoderModule(L.LightningModule):
    """Trains ``model.vocoder``; analysis and codebooks are fixed buffers."""

    def __init__(self, spec: MelCodecSpec, codebooks: torch.Tensor,
                 config: CodecTrainConfig) -> None:
        super().__init__()
        self.model = MelModel(spec, codebooks)
        self.clean_steps, self.total_steps = config.clean_steps, config.total_steps
        self.lr, self.warmup = config.learning_rate, config.warmup_steps
        self.quantized_levels = list(config.quantized_levels) or [spec.levels]

    def training_step(self, wav: torch.Tensor, batch_idx: int) -> torch.Tensor:
        quantized = self.global_step >= self.clean_steps
        # drawn from torch's generator, which Lightning seeds (and the resume reseeds per step)
        levels = self.quantized_levels[int(torch.randint(len(self.quantized_levels), ()))]
        with torch.autocast(device_type=wav.device.type, enabled=False):
            with torch.no_grad():
                target = self.model.analysis(wav)
                mel_in = self.model.quantize(target, levels)[1] if quantized else target
        audio = self.model.vocoder(mel_in)
        with torch.autocast(device_type=wav.device.type, enabled=False):  # losses in float32
            audio = audio.float()
            mel_loss = (self.model.analysis(audio) - target).abs().mean()
            loss = mel_loss + mr_stft_loss(audio, wav)
        self.log_dict({"loss": loss, "mel_l1": mel_loss, "quantized": float(quantized),
                       "levels": float(levels if quantized else 0)}, prog_bar=True)
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.model.vocoder.parameters(), lr=self.lr,
                                      betas=(0.8, 0.99), weight_decay=0.01)

        scheduler = warmup_cosine(optimizer, self.warmup, self.total_steps)  # over both stages
        return [optimizer], [{"scheduler": scheduler, "interval": "step"}]


def export_codec(model: MelModel, target: Path, steps: int) -> Path:
    """Write the codec directory atomically, so a reader (or a crash) never sees half of it."""
    with staged_directory(target) as staging:
        save_mel_model(_with_steps(model, steps), staging)
    return Path(target)


def _with_steps(model: MelModel, steps: int) -> MelModel:
    model.spec = replace(model.spec, trained_steps=int(steps))
    return model


class ExportCodec(L.Callback):
    """Exports ``<output>/codec`` every ``every`` steps and when training ends."""

    def __init__(self, target: Path, every: int) -> None:
        self.target, self.every = Path(target), every

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if trainer.global_step % self.every == 0:
            export_codec(module.model, self.target, trainer.global_step)

    def on_train_end(self, trainer, module) -> None:
        export_codec(module.model, self.target, trainer.global_step)
