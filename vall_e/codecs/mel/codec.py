"""``MelCodec``: the project's own codec, 100-bin log-mel -> residual k-means codes -> vocoder.

encode: wav [B, 1, S] -> log-mel at 100 Hz -> pairs of frames stacked (50 Hz, 2 x 100 dims)
        -> nearest centroid per level on the residual -> codes [B, K, T], T = ceil(S / 480)
decode: codes -> sum of centroids -> unstacked 100 Hz log-mel -> Vocos-style vocoder -> [B, T * 480]

A codec directory holds ``config.json`` (``MelCodecSpec``) and ``model.safetensors`` (the
codebooks as ``rvq.codebooks`` and the vocoder as ``vocoder.*``); nothing is pickled. It is
written by ``python -m vall_e.codecs.train`` (or ``save_random`` for tests) and loaded with
``get_codec(CodecConfig(name="mel_rvq", path=DIR, n_levels=K))``; ``n_levels`` may be fewer than
the trained levels (the first n are used: residual codes are a coarse-to-fine prefix code).
"""
from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from vall_e.codecs.base import AudioCodec, CodecInfo, local_error, resolve_source
from vall_e.codecs.mel.features import MelAnalysis, stack_frames, unstack_frames
from vall_e.codecs.mel.rvq import ResidualKMeans
from vall_e.codecs.mel.voice_match import match_fine_levels, match_voice
from vall_e.codecs.mel.vocoder import Vocoder, VocoderSpec
from vall_e.config import VOICE_MATCH_LEVELS
from vall_e.errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    from vall_e.config import CodecConfig

NAME = "mel_rvq"  # the registry name and CodecInfo.name (training checks that they agree)
FORMAT = "vall_e.mel_codec/1"


@dataclass(frozen=True)
class MelCodecSpec:
    """Everything needed to rebuild the modules; stored as config.json."""

    sample_rate: int = 24000
    n_fft: int = 1024
    hop: int = 240
    n_mels: int = 100
    stack: int = 2
    levels: int = 8
    codebook_size: int = 1024
    vocoder: VocoderSpec = field(default_factory=VocoderSpec)
    trained_steps: int = 0  # vocoder optimiser steps behind these weights (informative only)

    def to_dict(self) -> dict:
        return {"format": FORMAT, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, raw: dict) -> "MelCodecSpec":
        if raw.get("format") != FORMAT:
            raise ValueError(f"config.json format is {raw.get('format')!r}, expected {FORMAT!r}")
        raw = {k: v for k, v in raw.items() if k != "format"}
        return cls(**{**raw, "vocoder": VocoderSpec(**raw.get("vocoder", {}))})


class MelModel(torch.nn.Module):
    """Analysis + codebooks + vocoder, so one ``state_dict`` and one ``.to`` cover all three."""

    def __init__(self, spec: MelCodecSpec, codebooks: torch.Tensor) -> None:
        super().__init__()
        self.spec = spec
        self.analysis = MelAnalysis(spec.sample_rate, spec.n_fft, spec.hop, spec.n_mels, spec.stack)
        self.rvq = ResidualKMeans(codebooks)
        self.vocoder = Vocoder(spec.vocoder)

    def quantize(self, mel: torch.Tensor, levels: int) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, M, 2T] log-mel -> (codes [B, levels, T], their reconstruction [B, M, 2T])."""
        frames = stack_frames(mel, self.spec.stack)
        batch, steps, dim = frames.shape
        codes = self.rvq.encode(frames.reshape(-1, dim), levels).reshape(batch, steps, levels)
        return codes.transpose(1, 2), self.dequantize(codes.transpose(1, 2))

    def dequantize(self, codes: torch.Tensor) -> torch.Tensor:
        """[B, k, T] codes -> [B, M, 2T] log-mel."""
        return unstack_frames(self.rvq.decode(codes.transpose(1, 2)), self.spec.stack)


class MelCodec(AudioCodec):
    residual = True  # residual k-means: level k codes what levels < k left over

    def __init__(self, model: MelModel, n_levels: int, device: str | torch.device = "cpu") -> None:
        spec = model.spec
        if not 1 <= n_levels <= spec.levels:
            raise ConfigError(
                f"codec.n_levels {n_levels} is not available: this {NAME} codec was trained with "
                f"{spec.levels} levels; set codec.n_levels between 1 and {spec.levels}")
        info = CodecInfo(NAME, spec.sample_rate, spec.sample_rate / (spec.hop * spec.stack),
                         n_levels, spec.codebook_size)
        super().__init__(info, device)
        self.model = model.eval().to(self.device)
        self.streaming_lookahead_frames = lookahead_frames(spec)
        self._voice = None  # (reference log-mel [M, Tr] or codes [K, Tr], strength, levels): with_voice

    @property
    def hop_length(self) -> int:
        return self.model.spec.hop * self.model.spec.stack  # exact, no float round trip

    @classmethod
    def from_config(cls, config: "CodecConfig", device: str | torch.device = "cpu") -> "MelCodec":
        source, is_local = resolve_source(config, default_hub_id="")
        if not is_local:
            raise CheckpointError(f"{NAME} codecs are trained locally and never downloaded; "
                                  "set codec.path to a directory written by vall_e.codecs.train")
        return cls(load_mel_model(source), n_levels=config.n_levels, device=device)

    @staticmethod
    def save_random(directory: str | Path, seed: int = 0) -> Path:
        return save_random_mel(directory, seed)

    def _move(self, device: torch.device) -> None:
        self.model.to(device)

    def _encode(self, wav: torch.Tensor) -> torch.Tensor:
        codes, _ = self.model.quantize(self.model.analysis(wav[:, 0]), self.n_levels)
        return codes

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        return self.model.vocoder(self._matched_mel(codes))

    def _matched_mel(self, codes: torch.Tensor) -> torch.Tensor:
        """Log-mel [B, M, 2T] of codes [B, k, T], moved toward the reference when a voice is set."""
        if self._voice is None:
            return self.model.dequantize(codes)
        reference, strength, levels = self._voice
        if levels == "all":
            return match_voice(self.model.dequantize(codes), reference, strength)
        rvq, k = self.model.rvq, codes.shape[1]
        ref = reference[:k].T  # [Tr, k]: the reference at the output's depth
        ref_frames, ref_coarse = rvq.decode(ref), rvq.decode(ref[:, :1])
        frames = [match_fine_levels(rvq.decode(c.T), rvq.decode(c[:1].T), ref_frames, ref_coarse,
                                    strength) for c in codes]
        return unstack_frames(torch.stack(frames), self.model.spec.stack)

    def with_voice(self, reference_codes: torch.Tensor, strength: float,
                   levels: str = "fine") -> "MelCodec":
        """This codec (the same weights) decoding every output moved ``strength`` of the way
        toward the reference whose codes [K, T] are given (``vall_e.codecs.mel.voice_match``):
        ``levels`` "fine" moves only what the levels above 0 add, "all" whole log-mel frames.
        Strength 0 returns this codec itself."""
        if not 0.0 <= strength <= 1.0:
            raise ConfigError(f"--voice-match must be between 0 and 1, got {strength}")
        if levels not in VOICE_MATCH_LEVELS:
            raise ConfigError(f"--voice-match-levels must be one of {list(VOICE_MATCH_LEVELS)}, "
                              f"got {levels!r}")
        if strength == 0.0:
            return self
        codes = self._check_codes(reference_codes).to(self.device)[0]  # [K, Tr]
        if levels == "all":
            with torch.inference_mode():  # every level: the voice
                reference = self.model.dequantize(codes[None])[0]
        else:
            reference = codes
        matched = copy.copy(self)
        matched._voice = (reference, float(strength), levels)
        return matched


def lookahead_frames(spec: MelCodecSpec) -> int:
    """Codec frames after frame j that change frame j's audio (the decoder is not causal).

    Frame j's last sample is touched by every mel frame whose iSTFT window reaches it, and each
    of those mel frames sees ``right_context`` more mel frames through the convolutions.
    """
    last_sample = spec.stack * spec.hop - 1  # of code frame 0
    last_mel = (last_sample + spec.n_fft // 2) // spec.hop
    return (last_mel + spec.vocoder.right_context()) // spec.stack


def save_mel_model(model: MelModel, directory: str | Path) -> Path:
    """Write config.json + model.safetensors into ``directory`` (created if needed)."""
    from safetensors.torch import save_file

    from vall_e.models.integrity import checksum_metadata

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(model.spec.to_dict(), indent=2) + "\n")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(directory / "model.safetensors"), metadata=checksum_metadata(state))
    return directory


def load_mel_model(directory: str | Path) -> MelModel:
    directory = Path(directory)
    config_path, weights = directory / "config.json", directory / "model.safetensors"
    if not config_path.is_file() or not weights.is_file():
        raise CheckpointError(
            f"{directory} is not a {NAME} codec directory (need config.json and "
            "model.safetensors); train one with `python -m vall_e.codecs.train --yaml ...`")
    from vall_e.models.integrity import verify_state

    try:
        from safetensors import safe_open

        spec = MelCodecSpec.from_dict(json.loads(config_path.read_text()))
        with safe_open(str(weights), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            state = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as exc:  # bad JSON, unknown key, truncated file: one message
        raise local_error(str(directory), exc) from None
    verify_state(state, metadata, weights)  # a flipped bit: one line naming the file
    try:
        model = MelModel(spec, torch.zeros(spec.levels, spec.codebook_size,
                                           spec.n_mels * spec.stack))
        model.load_state_dict(state)
    except Exception as exc:  # bad JSON, unknown key, shape mismatch, truncated file: one message
        raise local_error(str(directory), exc) from None
    return model.eval()


def save_random_mel(directory: str | Path, seed: int = 0, levels: int = 8,
                    codebook_size: int = 1024, vocoder: VocoderSpec | None = None) -> Path:
    """A seeded untrained codec: level-0 centroids are real log-mel frames of noise bursts (so
    codes vary with the input), finer levels shrinking noise; a small random vocoder."""
    spec = MelCodecSpec(levels=levels, codebook_size=codebook_size,
                        vocoder=vocoder or VocoderSpec(dim=32, intermediate=64, blocks=2))
    with torch.random.fork_rng(devices=[]):  # seed the init without disturbing the caller's RNG
        torch.manual_seed(seed)
        analysis = MelAnalysis(spec.sample_rate, spec.n_fft, spec.hop, spec.n_mels, spec.stack)
        seconds = codebook_size * spec.hop * spec.stack / spec.sample_rate
        n = int(seconds * spec.sample_rate)
        envelope = torch.rand(n // 2400 + 1).repeat_interleave(2400)[:n] ** 2
        frames = stack_frames(analysis(torch.randn(1, n) * envelope), spec.stack)[0]
        dim = frames.shape[-1]
        books = [frames[torch.randperm(len(frames))[:codebook_size]]]
        books += [torch.randn(codebook_size, dim) * 0.5 ** level for level in range(1, levels)]
        model = MelModel(spec, torch.stack(books))
    return save_mel_model(model, directory)
