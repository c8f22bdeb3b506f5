"""Shipped reference voices: names in place of recordings."""
import pytest
import soundfile as sf
import torch

from vall_e import voices as voices_module
from vall_e.errors import TextError
from vall_e.inference.engine import ARNAREngine
from vall_e.voices import find_voice, shipped_voices


@pytest.fixture
def voices_dir(tmp_path, monkeypatch):
    folder = tmp_path / "voices"
    folder.mkdir()
    for name, text in [("ana", "Ana speaks here."), ("bo", None)]:
        sf.write(folder / f"{name}.wav", 0.1 * torch.randn(24000).numpy(), 24000)
        if text:
            (folder / f"{name}.txt").write_text(text + "\n")
    monkeypatch.setattr(voices_module, "VOICES_DIR", folder)
    return folder


def test_shipped_voices_reads_wav_and_transcript(voices_dir):
    found = shipped_voices()
    assert list(found) == ["ana", "bo"]
    assert found["ana"].transcript == "Ana speaks here." and found["bo"].transcript is None
    assert find_voice("ana").wav == voices_dir / "ana.wav"
    assert find_voice("nobody") is None


def test_a_file_is_never_shadowed_by_a_voice_name(voices_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ana").write_bytes(b"x")  # a file literally named like a voice
    assert find_voice("ana") is None


def test_missing_folder_means_no_voices(tmp_path):
    assert shipped_voices(tmp_path / "absent") == {}


def test_ar_nar_engine_clones_a_voice_by_name(voices_dir, tiny_run):
    engine = ARNAREngine.from_checkpoint(tiny_run.checkpoint, "cpu")
    assert engine.voices == ("ana", "bo")
    speaker = engine.named_speaker("ana")
    assert speaker.transcript == "Ana speaks here." and speaker.codes is not None
    with pytest.raises(TextError, match="shipped voices: ana, bo"):
        engine.named_speaker("carla")
