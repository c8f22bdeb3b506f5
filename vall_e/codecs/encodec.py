"""EnCodec 24 kHz through ``transformers.EncodecModel`` (the ``encodec`` package needs torchaudio).

Contract: 24 kHz mono in, codes [B, K, T] at 75 Hz (hop 320) out, 1024 entries per codebook.
``n_levels`` K picks the bandwidth: K * 0.75 kbps, so K in {2, 4, 8, 16, 32} for the published
{1.5, 3, 6, 12, 24} kbps (VALL-E uses 8 = 6 kbps). Only unchunked, unnormalised mono models
(the 24 kHz one) fit the [B, K, T] protocol: chunked models also emit per-chunk scales.

Weights load from a local directory written by ``save_pretrained``; a hub id is only tried
when ``allow_download`` is set. ``transformers`` is imported inside functions because importing
it costs over a second and ``vall_e.codecs`` must stay cheap to import.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from vall_e.codecs.base import (
    AudioCodec,
    CodecInfo,
    hub_error,
    local_error,
    resolve_source,
)
from vall_e.errors import CheckpointError, ConfigError
from vall_e.hf_progress import quiet_hf_progress

if TYPE_CHECKING:
    from vall_e.config import CodecConfig

DEFAULT_HUB_ID = "facebook/encodec_24khz"


class EncodecCodec(AudioCodec):
    """Wraps a loaded ``transformers.EncodecModel``; build it with ``from_config``."""

    streaming_lookahead_frames = 0  # the 24 kHz model is causal: frame t never sees t + 1
    residual = True  # RVQ: decode sums the per-level embeddings it is given

    def __init__(self, model, n_levels: int = 8, device: str | torch.device = "cpu") -> None:
        cfg = model.config
        if cfg.audio_channels != 1 or cfg.chunk_length_s is not None or cfg.normalize:
            raise CheckpointError(
                f"EnCodec model with {cfg.sampling_rate} Hz, {cfg.audio_channels} channel(s), "
                f"chunk_length_s={cfg.chunk_length_s}, normalize={cfg.normalize} is not "
                "supported; use the 24 kHz mono model (facebook/encodec_24khz)"
            )
        frame_rate = cfg.sampling_rate / math.prod(cfg.upsampling_ratios)
        # Bits per frame per level = log2(codebook_size); bandwidth is in kbps.
        kbps_per_level = frame_rate * math.log2(cfg.codebook_size) / 1000.0
        valid = {round(bw / kbps_per_level): float(bw) for bw in cfg.target_bandwidths}
        if n_levels not in valid:
            raise ConfigError(
                f"codec.n_levels {n_levels} is not available for encodec; choose one of "
                f"{sorted(valid)} (bandwidths {sorted(valid.values())} kbps)"
            )
        self.bandwidth = valid[n_levels]
        info = CodecInfo(
            name="encodec",
            sample_rate=int(cfg.sampling_rate),
            frame_rate=float(frame_rate),
            n_levels=int(n_levels),
            codebook_size=int(cfg.codebook_size),
        )
        super().__init__(info, device)
        self.model = model.eval().to(self.device)

    @classmethod
    def from_config(cls, config: "CodecConfig", device: str | torch.device = "cpu") -> "EncodecCodec":
        from transformers import EncodecModel

        source, is_local = resolve_source(config, DEFAULT_HUB_ID)
        try:
            with quiet_hf_progress():  # a codec load is quick; the bar would break one-line errors
                # use_safetensors: a pickled pytorch_model.bin is never loaded (it can run code)
                model = EncodecModel.from_pretrained(source, use_safetensors=True)
        except Exception as exc:  # transformers raises OSError/ValueError/EnvironmentError alike
            raise (local_error(source, exc) if is_local else hub_error(source, exc)) from None
        return cls(model, n_levels=config.n_levels, device=device)

    @staticmethod
    def save_random(directory: str | Path, seed: int = 0) -> Path:
        return save_random_encodec(directory, seed)

    def _move(self, device: torch.device) -> None:
        self.model.to(device)

    def _encode(self, wav: torch.Tensor) -> torch.Tensor:
        out = self.model.encode(wav, bandwidth=self.bandwidth, return_dict=True)
        # audio_codes is [chunks, B, K, T]; the unchunked 24 kHz model has exactly one chunk.
        return out.audio_codes[0]

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        # One chunk, and no scales because the 24 kHz model does not normalise its input.
        audio = self.model.decode(codes[None], [None], return_dict=True).audio_values
        return audio[:, 0]


def save_random_encodec(directory: str | Path, seed: int = 0) -> Path:
    """Save a seeded random-weight 24 kHz EnCodec (safetensors) to ``directory``; return it.

    transformers initialises codebooks to zeros (they are learned by EMA), which maps all audio
    to code 0, and plain random codebooks miss the encoder's tiny output range just as badly.
    So each level's codebook is drawn from encoder frames of seeded noise (k-means++-style
    init, residual by residual): codes then vary with the input and tests see real indices.
    """
    from transformers import EncodecConfig, EncodecModel

    directory = Path(directory)
    with torch.random.fork_rng(devices=[]):  # seed the init without disturbing the caller's RNG
        torch.manual_seed(seed)
        model = EncodecModel(EncodecConfig()).eval()
    gen = torch.Generator().manual_seed(seed)
    n_samples = 4 * model.config.sampling_rate
    envelope = torch.rand(n_samples // 2400 + 1, generator=gen).repeat_interleave(2400)
    wav = 0.3 * torch.randn(1, 1, n_samples, generator=gen) * envelope[:n_samples]
    with torch.no_grad():
        residual = model.encoder(wav)[0].T  # [T, D] encoder frames
        for layer in model.quantizer.layers:
            book = layer.codebook
            pick = torch.randint(0, residual.shape[0], (book.embed.shape[0],), generator=gen)
            jitter = torch.randn(book.embed.shape, generator=gen) * residual.std(dim=0)
            book.embed.copy_(residual[pick] + 0.5 * jitter)
            book.embed_avg.copy_(book.embed)
            book.cluster_size.fill_(1.0)
            residual = residual - book.embed[torch.cdist(residual, book.embed).argmin(dim=1)]
    directory.mkdir(parents=True, exist_ok=True)
    with quiet_hf_progress():
        model.save_pretrained(directory)
    return directory
