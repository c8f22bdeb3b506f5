"""vall_e.audio: mono mixing, resampling, trimming, one-line AudioErrors, save/load round trip."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from vall_e.audio import load_audio, resample, save_audio, trim_silence
from vall_e.errors import AudioError

SR = 24000


def tone(seconds: float, sr: int = SR, amp: float = 0.5, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_stereo_is_mixed_to_mono(tmp_path):
    left, right = tone(1.0, amp=0.5), tone(1.0, amp=0.1)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), SR, subtype="FLOAT")
    wav = load_audio(path, SR, trim=False)
    assert wav.dim() == 1 and wav.dtype == torch.float32
    np.testing.assert_allclose(wav.numpy(), (left + right) / 2, atol=1e-6)


@pytest.mark.parametrize("sr", [16000, 44100])
def test_resample_to_24k(tmp_path, sr):
    path = tmp_path / f"in_{sr}.flac"
    sf.write(path, tone(1.0, sr=sr), sr)
    wav = load_audio(path, SR, trim=False)
    assert wav.dtype == torch.float32 and wav.shape == (24000,)  # 1 s at the new rate
    assert abs(float(wav.abs().max()) - 0.5) < 0.02


def test_resample_api():
    out = resample(np.ones(44100, dtype=np.float64), 44100, 24000)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == (24000,)
    batch = resample(torch.zeros(2, 16000), 16000, 24000)
    assert batch.shape == (2, 24000)
    same = torch.ones(10)
    assert torch.equal(resample(same, SR, SR), same)
    with pytest.raises(ValueError):
        resample(same, 0, SR)


def test_resampling_never_exceeds_full_scale(tmp_path):
    square = np.sign(tone(0.5, sr=44100, amp=1.0, freq=1000.0)).astype(np.float32)
    path = tmp_path / "square.wav"
    sf.write(path, square, 44100, subtype="FLOAT")
    assert float(load_audio(path, SR, trim=False).abs().max()) <= 1.0


def test_trim_silence():
    silence = torch.zeros(SR // 2)
    wav = torch.cat([silence, torch.from_numpy(tone(0.5)), silence])
    trimmed = trim_silence(wav, SR, pad_ms=50.0)
    # 0.5 s of tone + 50 ms padding each side, within one 20 ms frame.
    assert abs(trimmed.numel() - int(0.6 * SR)) <= int(0.02 * SR)
    assert trim_silence(torch.zeros(SR), SR).numel() == 0


def test_load_trims_by_default(tmp_path):
    path = tmp_path / "padded.wav"
    silence = np.zeros(SR, dtype=np.float32)
    sf.write(path, np.concatenate([silence, tone(0.5), silence]), SR)
    assert load_audio(path, SR).numel() < int(0.7 * SR)
    assert load_audio(path, SR, trim=False).numel() == int(2.5 * SR)


def _expect_error(path, match: str, **kwargs) -> None:
    with pytest.raises(AudioError, match=match) as err:
        load_audio(path, SR, **kwargs)
    message = str(err.value)
    assert str(path.name) in message and "\n" not in message


def test_missing_file(tmp_path):
    _expect_error(tmp_path / "missing.wav", "not found")


def test_directory_is_not_a_file(tmp_path):
    folder = tmp_path / "folder.wav"
    folder.mkdir()
    _expect_error(folder, "not a file")


def test_corrupt_file(tmp_path):
    path = tmp_path / "corrupt.wav"
    path.write_bytes(b"RIFF\x00\x00garbage that is not audio" * 10)
    _expect_error(path, "cannot read")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), SR)
    _expect_error(path, "empty")


def test_too_short(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, tone(0.05), SR)
    _expect_error(path, "too short", trim=False)


def test_silent(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(SR, dtype=np.float32), SR)
    _expect_error(path, "silent")


def test_non_finite(tmp_path):
    path = tmp_path / "nan.wav"
    data = tone(0.5)
    data[100] = np.nan
    sf.write(path, data, SR, subtype="FLOAT")
    _expect_error(path, "NaN")


def test_save_load_round_trip(tmp_path):
    wav = torch.from_numpy(tone(1.0))
    out = save_audio(tmp_path / "a" / "b" / "out.wav", wav[None], SR)
    assert out.is_file() and sorted(p.name for p in out.parent.iterdir()) == ["out.wav"]
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.subtype) == (SR, 1, "PCM_16")
    back = load_audio(out, SR, trim=False)
    assert back.shape == wav.shape
    assert float((back - wav).abs().max()) <= 1.0 / 32767 + 1e-6


def test_save_clips_and_rejects_bad_shapes(tmp_path):
    path = save_audio(tmp_path / "loud.wav", np.array([2.0, -3.0, 0.5] * 1000), SR)
    data, _ = sf.read(path)
    assert data.max() <= 1.0 and data.min() >= -1.0
    with pytest.raises(ValueError):
        save_audio(tmp_path / "bad.wav", torch.zeros(2, 100), SR)
    with pytest.raises(AudioError):
        save_audio(tmp_path / "nan.wav", torch.full((100,), float("nan")), SR)
    assert not (tmp_path / "nan.wav").exists()
