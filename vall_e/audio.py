"""Audio file I/O: load any soundfile-readable file as 1-D float32 mono, and write 16-bit WAVs.

Contract:
- ``load_audio(path, sample_rate)`` returns a 1-D ``torch.float32`` tensor at ``sample_rate``:
  channels are averaged to mono, resampled with a polyphase filter, leading/trailing silence
  is trimmed (optional) and the peak never exceeds 1.0 (a resampling overshoot is scaled down,
  never clipped). Every failure (missing, unreadable, empty, non-finite, silent, too short) is an
  ``AudioError`` whose one-line message names the file and says what to do.
- ``resample``, ``trim_silence`` work on tensors already in memory.
- ``save_audio`` writes the format its extension names (``output_formats()``: .wav and .flac
  16-bit PCM, .ogg Vorbis, .mp3 when the installed libsndfile writes it) atomically (temp file
  in the same directory, then ``os.replace``) so a crash never leaves a half-written file under
  the final name. A new file gets the usual mode (0666 less the umask); an existing file keeps
  its own. ``check_output_path`` refuses, before any work, a path that could not be written.

scipy.signal is imported lazily: it costs ~1 s and most callers of this module only save audio.
"""
from __future__ import annotations

import math
import os
import secrets
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from vall_e.errors import AudioError

# Peaks below this are treated as digital silence (about -100 dBFS).
_SILENCE_PEAK = 1e-5


def _one_line(text: object) -> str:
    """Collapse a library's (possibly multi-line) message so our errors stay one line."""
    return " ".join(str(text).split())


def resample(wav: torch.Tensor | np.ndarray, orig_sr: int, target_sr: int) -> torch.Tensor:
    """Resample along the last axis with ``scipy.signal.resample_poly``; returns float32.

    The up/down factors are reduced by their gcd, so 44100 -> 24000 uses 80/147 rather than a
    huge filter. Output length is ``ceil(len * target_sr / orig_sr)``.
    """
    if int(orig_sr) <= 0 or int(target_sr) <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_sr} -> {target_sr}")
    array = wav.detach().cpu().numpy() if isinstance(wav, torch.Tensor) else np.asarray(wav)
    array = array.astype(np.float32, copy=False)
    if orig_sr == target_sr:
        return torch.from_numpy(array.copy())
    from scipy.signal import resample_poly

    g = math.gcd(int(orig_sr), int(target_sr))
    out = resample_poly(array, int(target_sr) // g, int(orig_sr) // g, axis=-1)
    return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))


def trim_silence(
    wav: torch.Tensor, sample_rate: int, threshold_db: float = -40.0, pad_ms: float = 50.0
) -> torch.Tensor:
    """Cut leading/trailing frames quieter than ``threshold_db`` below the loudest frame.

    Energy is the RMS of non-overlapping 20 ms frames, relative to the loudest frame (like
    librosa's ``ref=np.max``), so the result does not depend on the recording's gain. ``pad_ms``
    of audio is kept on each side so word onsets/decays are not clipped. An all-silent input
    returns an empty tensor; the caller decides whether that is an error.
    """
    start, end = silence_bounds(wav, sample_rate, threshold_db, pad_ms)
    return wav[start:end]


def silence_bounds(
    wav: torch.Tensor, sample_rate: int, threshold_db: float = -40.0, pad_ms: float = 50.0
) -> tuple[int, int]:
    """The (start, end) sample range ``trim_silence`` keeps; (0, 0) for an all-silent input.
    Callers that keep timings of the audio (teacher durations) shift them by ``start``."""
    if wav.dim() != 1:
        raise ValueError(f"trim_silence expects a 1-D waveform, got shape {tuple(wav.shape)}")
    n = wav.numel()
    frame = max(1, int(round(sample_rate * 0.02)))
    n_frames = max(1, math.ceil(n / frame))
    padded = torch.nn.functional.pad(wav.float(), (0, n_frames * frame - n))
    rms = padded.view(n_frames, frame).pow(2).mean(dim=1).sqrt()
    ref = float(rms.max()) if n else 0.0
    if ref <= 0.0:
        return 0, 0
    db = 20.0 * torch.log10(rms.clamp_min(1e-12) / ref)
    loud = torch.nonzero(db > threshold_db).flatten()
    if loud.numel() == 0:
        return 0, 0
    pad = int(round(sample_rate * pad_ms / 1000.0))
    start = max(0, int(loud[0]) * frame - pad)
    end = min(n, (int(loud[-1]) + 1) * frame + pad)
    return start, end


def _read(path: Path) -> tuple[np.ndarray, int]:
    """Read ``path`` as [samples, channels] float32, turning every failure into AudioError."""
    if not path.exists():
        raise AudioError(f"audio file not found: {path}; check the path")
    if not path.is_file():
        raise AudioError(f"audio path is not a file: {path}; pass a path to an audio file")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile raises several types for corrupt/unknown formats
        raise AudioError(
            f"cannot read audio file {path} ({_one_line(exc)}); "
            "convert it to WAV/FLAC/OGG or replace the file"
        ) from None
    return data, int(sr)


def load_audio(
    path: str | os.PathLike, sample_rate: int, *, trim: bool = True, min_seconds: float = 0.1
) -> torch.Tensor:
    """Load ``path`` as a 1-D float32 mono tensor at ``sample_rate`` (see module docstring)."""
    path = Path(path)
    data, sr = _read(path)
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise AudioError(f"audio file {path} is empty (0 samples); use a file with speech in it")
    if not np.isfinite(data).all():
        raise AudioError(f"audio file {path} contains NaN or infinite samples; re-export it")
    mono = data.mean(axis=1)
    wav = resample(mono, sr, sample_rate)
    peak = float(wav.abs().max())
    if peak > 1.0 and float(np.abs(mono).max()) <= 1.0:
        # Polyphase filtering can overshoot near full scale; scale down instead of clipping.
        wav = wav / peak
    if peak < _SILENCE_PEAK:
        raise AudioError(f"audio file {path} is silent; use a recording with audible speech")
    if trim:
        wav = trim_silence(wav, sample_rate)
        if wav.numel() == 0:
            raise AudioError(f"audio file {path} is silent after trimming; use audible speech")
    seconds = wav.numel() / sample_rate
    if seconds < min_seconds:
        raise AudioError(
            f"audio file {path} is too short ({seconds:.3f} s of sound, need at least "
            f"{min_seconds} s); use a longer recording"
        )
    return wav.contiguous()


# extension -> (libsndfile format, subtype)
_FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS"),
            ".mp3": ("MP3", "MPEG_LAYER_III")}


def output_formats() -> dict[str, tuple[str, str]]:
    """The output extensions this install can write (mp3 only with libsndfile >= 1.1)."""
    available = sf.available_formats()
    return {ext: fmt for ext, fmt in _FORMATS.items() if fmt[0] in available}


def _output_format(path: Path) -> tuple[str, str]:
    formats = output_formats()
    fmt = formats.get(path.suffix.lower())
    if fmt is None:
        what = f"extension {path.suffix!r}" if path.suffix else "no extension"
        raise AudioError(f"cannot write {path}: {what}; use one of {', '.join(formats)}")
    return fmt


def check_output_path(path: str | os.PathLike, inputs: tuple = ()) -> Path:
    """``path`` if audio can be written there, else one ``AudioError`` line, before any work.

    Refused: an unknown extension, a directory, one of ``inputs`` (the reference: writing over
    it would destroy it), a parent that is not a directory, and a directory where no file can
    be created (tried for real, so a read-only mount or missing permission shows here, not after
    synthesis). Missing parent directories are fine: ``save_audio`` creates them.
    """
    path = Path(path)
    if path.is_dir():
        raise AudioError(f"cannot write {path}: it is a directory; give a file name such as "
                         f"{path / 'out.wav'}")
    _output_format(path)
    for other in inputs:
        if other is not None and Path(other).exists() and path.exists() \
                and os.path.samefile(path, other):
            raise AudioError(f"cannot write {path}: it is the reference recording, which would "
                             "be overwritten; choose another output path")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise AudioError(f"cannot write {path}: {parent} is not a directory")
    try:
        probe = _create_sibling(parent / path.name)  # a real try: root ignores modes
    except OSError as exc:
        raise AudioError(f"cannot write {path}: {parent} is not writable "
                         f"({exc.strerror or _one_line(exc)})") from None
    os.unlink(probe)
    if path.exists() and not os.access(path, os.W_OK):
        raise AudioError(f"cannot write {path}: the file is read-only")
    return path


def _create_sibling(path: Path) -> str:
    """Create an empty hidden file next to ``path`` (mode 0666 less the umask) and return its
    name. Not mkstemp: its 0600 mode would survive the rename onto the final name."""
    for _ in range(100):
        name = str(path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"))
        try:
            os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return name
        except FileExistsError:
            continue
    raise OSError(f"could not create a temporary file next to {path}")


def save_audio(path: str | os.PathLike, wav: torch.Tensor | np.ndarray, sample_rate: int) -> Path:
    """Write a 1-D or [1, S] waveform, clipped to [-1, 1], atomically, in the format of the
    path's extension (see ``output_formats``).

    Returns the final path. Parent directories are created.
    """
    path = Path(path)
    fmt, subtype = _output_format(path)
    array = wav.detach().float().cpu().numpy() if isinstance(wav, torch.Tensor) else np.asarray(wav)
    if array.ndim == 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 1:
        raise ValueError(f"save_audio expects a 1-D or [1, S] waveform, got shape {array.shape}")
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise AudioError(f"refusing to write {path}: the waveform has NaN or infinite samples")
    array = np.clip(array, -1.0, 1.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.is_file() else None
    tmp_name = _create_sibling(path)
    try:
        # format= is explicit because the temp name has no audio suffix to infer it from.
        sf.write(tmp_name, array, int(sample_rate), subtype=subtype, format=fmt)
        if mode is not None:
            os.chmod(tmp_name, mode)  # an existing file keeps its permissions
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    return path
