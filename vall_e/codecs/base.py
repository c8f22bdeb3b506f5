"""The audio-codec protocol every backend implements, and the ``CodecInfo`` that identifies codes.

Contract:
- ``AudioCodec.encode(wav)`` takes float audio at ``sample_rate`` shaped [S], [B, S] or
  [B, 1, S] and returns int64 codes [B, K, T] with ``K == n_levels``, values in
  ``[0, codebook_size)`` and ``T == num_frames(S)``.
- ``AudioCodec.decode(codes)`` takes [K, T] or [B, K, T] and returns float audio [B, S] with
  ``S == T * hop_length``.
- Both run under ``torch.inference_mode()``; results are cloned on the way out so they are
  ordinary tensors (an inference tensor fed to ``nn.Embedding`` during training would raise).
- Backends implement ``_encode(wav[B, 1, S]) -> [B, K, T]`` and ``_decode([B, K, T]) -> [B, S]``
  on already-validated inputs on the model's device, plus the classmethod
  ``from_config(config, device)`` and staticmethod ``save_random(directory, seed)``.
- ``CodecInfo`` is stored next to prepared codes and inside checkpoints;
  ``require_match`` refuses to mix codes from different codecs.
"""
from __future__ import annotations

import abc
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from vall_e.errors import CheckpointError, CodecMismatchError, ConfigError

if TYPE_CHECKING:
    from vall_e.config import CodecConfig

# Frame rates are floats (SNAC: 11.71875 Hz) read from different configs; compare loosely.
_FRAME_RATE_TOL = 1e-3


@dataclass(frozen=True)
class CodecInfo:
    """What a code sequence means: which codec, at what rates, with how many levels."""

    name: str
    sample_rate: int
    frame_rate: float
    n_levels: int
    codebook_size: int

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "CodecInfo":
        """Build from a stored dict; extra keys are ignored so newer files still load."""
        if not isinstance(d, dict):
            raise CheckpointError(f"codec info must be a mapping, got {type(d).__name__}")
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in d]
        if missing:
            raise CheckpointError(
                f"codec info is missing {missing} (has {sorted(d)}); re-create the file "
                "with this version of vall_e"
            )
        try:
            return cls(
                name=str(d["name"]),
                sample_rate=int(d["sample_rate"]),
                frame_rate=float(d["frame_rate"]),
                n_levels=int(d["n_levels"]),
                codebook_size=int(d["codebook_size"]),
            )
        except (TypeError, ValueError):
            raise CheckpointError(f"codec info has values of the wrong type: {d}") from None

    def describe(self) -> str:
        return (
            f"{self.name} ({self.sample_rate} Hz, {self.frame_rate:g} Hz frames, "
            f"{self.n_levels} levels x {self.codebook_size} codes)"
        )

    def differences(self, other: "CodecInfo") -> list[str]:
        """Names of the fields that differ (frame_rate within a small tolerance)."""
        diff = []
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            same = abs(a - b) <= _FRAME_RATE_TOL if f.name == "frame_rate" else a == b
            if not same:
                diff.append(f.name)
        return diff

    def require_match(
        self,
        other: "CodecInfo",
        context: str,
        hint: str = "re-create them with the codec in use or set the codec config to match",
    ) -> None:
        """Raise CodecMismatchError if ``other`` (the codec in use) differs from ``self``.

        ``context`` names what ``self`` describes, e.g. "codes in data/x" or "model runs/a";
        the message reads "codes in data/x: made with encodec (...) but the codec in use is ...".
        """
        diff = self.differences(other)
        if diff:
            raise CodecMismatchError(
                f"{context}: made with {self.describe()} but the codec in use is "
                f"{other.describe()} (differs in {', '.join(diff)}); {hint}"
            )


def resolve_source(config: "CodecConfig", default_hub_id: str) -> tuple[str, bool]:
    """Return ``(source, is_local_dir)`` for ``config.path``, refusing downloads unless allowed.

    A path that is an existing directory is always used as is; anything else is a hub id and
    is only returned when ``config.allow_download`` is true (nothing downloads by surprise).
    """
    path = config.path
    if path and Path(path).expanduser().is_dir():
        return str(Path(path).expanduser()), True
    if path and Path(path).expanduser().exists():
        raise CheckpointError(
            f"codec path {path} is a file; pass the directory holding config.json and the weights"
        )
    if not config.allow_download:
        where = path if path else "(codec.path is not set)"
        raise CheckpointError(
            f"codec weights not found at {where}; pass a local directory (e.g. one saved with "
            "save_pretrained) or set codec.allow_download: true on a machine with internet"
        )
    return (path or default_hub_id), False


def hub_error(source: str, exc: BaseException) -> CheckpointError:
    """The one-line error for a failed hub download (no network, unknown repo, ...)."""
    reason = " ".join(str(exc).split())[:200]
    return CheckpointError(
        f"could not download codec weights '{source}' from the Hugging Face hub ({reason}); "
        "check the internet connection and the repo id, or pass a local directory"
    )


def local_error(source: str, exc: BaseException) -> CheckpointError:
    """The one-line error for a local weights directory that does not load."""
    reason = " ".join(str(exc).split())[:200]
    return CheckpointError(
        f"codec weights in {source} could not be loaded ({type(exc).__name__}: {reason}); "
        "re-save them or point codec.path at a complete weights directory"
    )


class AudioCodec(abc.ABC):
    """A neural audio codec: waveform <-> [B, K, T] integer codes (see module docstring)."""

    # frames a streaming decoder holds back because the decoder looks right (non-causal
    # convolutions); a causal decoder sets 0 (see vall_e.inference.streaming)
    streaming_lookahead_frames: int = 1
    # True when the levels are residual stages (EnCodec's RVQ, mel_rvq's residual k-means): the
    # first k levels alone are then a coarser code of the same audio (``decode_levels``)
    residual: bool = False

    def __init__(self, info: CodecInfo, device: str | torch.device = "cpu") -> None:
        self._info = info
        self.device = torch.device(device)

    # --- identity -------------------------------------------------------------------------
    @property
    def info(self) -> CodecInfo:
        return self._info

    @property
    def name(self) -> str:
        return self._info.name

    @property
    def sample_rate(self) -> int:
        return self._info.sample_rate

    @property
    def frame_rate(self) -> float:
        return self._info.frame_rate

    @property
    def n_levels(self) -> int:
        return self._info.n_levels

    @property
    def codebook_size(self) -> int:
        return self._info.codebook_size

    @property
    def hop_length(self) -> int:
        """Audio samples per code frame."""
        return int(round(self.sample_rate / self.frame_rate))

    def num_frames(self, num_samples: int) -> int:
        """Code frames ``encode`` produces for ``num_samples`` samples (the input is padded)."""
        return math.ceil(int(num_samples) / self.hop_length)

    def seconds_to_frames(self, seconds: float) -> int:
        return self.num_frames(int(round(seconds * self.sample_rate)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._info.describe()}, device={self.device})"

    # --- backend hooks --------------------------------------------------------------------
    @classmethod
    @abc.abstractmethod
    def from_config(cls, config: "CodecConfig", device: str | torch.device = "cpu") -> "AudioCodec":
        """Load weights as described by ``config`` (local directory, or hub when allowed)."""

    @staticmethod
    @abc.abstractmethod
    def save_random(directory: str | Path, seed: int = 0) -> Path:
        """Write a seeded random-weight model to ``directory`` in the format ``from_config`` reads."""

    @abc.abstractmethod
    def _encode(self, wav: torch.Tensor) -> torch.Tensor:
        """[B, 1, S] float on ``self.device`` -> [B, K, T] int64."""

    @abc.abstractmethod
    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        """[B, K, T] int64 on ``self.device`` -> [B, S] float."""

    @abc.abstractmethod
    def _move(self, device: torch.device) -> None:
        """Move the underlying model to ``device``."""

    # --- public API -----------------------------------------------------------------------
    def to(self, device: str | torch.device) -> "AudioCodec":
        self.device = torch.device(device)
        self._move(self.device)
        return self

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """Float audio [S], [B, S] or [B, 1, S] at ``sample_rate`` -> int64 codes [B, K, T]."""
        wav = self._check_wav(wav)
        with torch.inference_mode():
            codes = self._encode(wav).long()
        return codes.clone()  # outside inference mode: a normal tensor, safe for autograd

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Int codes [K, T] or [B, K, T] -> float audio [B, S]."""
        codes = self._check_codes(codes)
        with torch.inference_mode():
            wav = self._decode(codes).float()
        return wav.clone()

    def decode_first(self, codes: torch.Tensor, levels: int | None) -> torch.Tensor:
        """``decode`` when ``levels`` is None or every level, else ``decode_levels``: what a
        model that generated ``levels`` levels sounds like, for any codec."""
        if levels is None or levels == self.n_levels:
            return self.decode(codes)
        return self.decode_levels(codes, levels)

    def decode_levels(self, codes: torch.Tensor, levels: int) -> torch.Tensor:
        """Decode only the first ``levels`` levels of codes [K', T] or [B, K', T], where
        ``levels`` <= K' <= K (full codes, or codes a model filled only that far).

        Only residual codecs allow it: their level k refines the sum of levels < k, so dropping
        the finer levels gives the coarser audio a model that predicted fewer levels would
        produce. Other layouts (SNAC's sub-frames) have no meaningful prefix.
        """
        if not self.residual:
            raise ConfigError(f"{self.name} codes are not residual levels: decoding a prefix of "
                              "them is not defined")
        if isinstance(levels, bool) or not isinstance(levels, int) or not 1 <= levels <= self.n_levels:
            raise ValueError(f"levels must be an integer in [1, {self.n_levels}], got {levels}")
        codes = self._check_codes(codes, levels)[:, :levels]
        with torch.inference_mode():
            wav = self._decode(codes).float()
        return wav.clone()

    def with_voice(self, reference_codes: torch.Tensor, strength: float,
                   levels: str = "fine") -> "AudioCodec":
        """A codec decoding toward the reference's own frames (``--voice-match``); only codecs
        that decode through a spectrum they can compare frame by frame (``mel_rvq``) have it."""
        if strength == 0.0:
            return self
        raise ConfigError(f"--voice-match needs the mel_rvq codec (it matches log-mel frames); "
                          f"{self.name} decodes without one: leave --voice-match at 0")

    def _check_wav(self, wav: torch.Tensor) -> torch.Tensor:
        if not isinstance(wav, torch.Tensor):
            wav = torch.as_tensor(wav)
        if not wav.is_floating_point():
            raise ValueError(f"{self.name}.encode expects float audio, got dtype {wav.dtype}")
        if wav.dim() == 1:
            wav = wav[None, None]
        elif wav.dim() == 2:
            wav = wav[:, None]
        elif wav.dim() != 3 or wav.shape[1] != 1:
            raise ValueError(
                f"{self.name}.encode expects audio shaped [S], [B, S] or [B, 1, S], "
                f"got {tuple(wav.shape)}; mix to mono first"
            )
        if wav.shape[-1] == 0 or wav.shape[0] == 0:
            raise ValueError(f"{self.name}.encode got empty audio of shape {tuple(wav.shape)}")
        if not torch.isfinite(wav).all():
            raise ValueError(f"{self.name}.encode got NaN or infinite samples")
        return wav.to(self.device, torch.float32)

    def _check_codes(self, codes: torch.Tensor, levels: int | None = None) -> torch.Tensor:
        """Validated int codes [B, K', T]: K' = K, or with ``levels`` any K' in [levels, K]."""
        if not isinstance(codes, torch.Tensor):
            codes = torch.as_tensor(codes)
        if codes.is_floating_point() or codes.is_complex() or codes.dtype == torch.bool:
            raise ValueError(f"{self.name}.decode expects integer codes, got dtype {codes.dtype}")
        if codes.dim() == 2:
            codes = codes[None]
        if codes.dim() != 3:
            raise ValueError(
                f"{self.name}.decode expects codes shaped [K, T] or [B, K, T], "
                f"got {tuple(codes.shape)}"
            )
        if not (codes.shape[1] == self.n_levels if levels is None
                else levels <= codes.shape[1] <= self.n_levels):
            raise CodecMismatchError(
                f"codes have {codes.shape[1]} levels but {self.name} is set up for "
                f"{self.n_levels}; use codes made with this codec config"
            )
        if codes.shape[0] == 0 or codes.shape[2] == 0:
            raise ValueError(f"{self.name}.decode got empty codes of shape {tuple(codes.shape)}")
        lo, hi = int(codes.min()), int(codes.max())
        if lo < 0 or hi >= self.codebook_size:
            raise ValueError(
                f"codes hold values in [{lo}, {hi}] but {self.name} codebooks have "
                f"{self.codebook_size} entries [0, {self.codebook_size}); drop special tokens "
                "or use codes made with this codec"
            )
        return codes.to(self.device, torch.long)
