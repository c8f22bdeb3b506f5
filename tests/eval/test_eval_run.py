"""The evaluation loop's order: every item is synthesized before any is judged, so that the
judges' threads never run beside a timed synthesis."""
from types import SimpleNamespace

import numpy as np
import torch

from vall_e.eval.run import Reference, evaluate_model


class RecordingEngine:
    codec = SimpleNamespace(sample_rate=16000)

    def __init__(self, log):
        self.log = log

    def create_speaker(self, wav, transcript=None, settings=None):
        return transcript

    def synthesize(self, texts, speaker, params, settings):
        self.log.append(("synthesize", texts[0]))
        audio = torch.sin(torch.arange(8000) * 0.05) * 0.3
        return [SimpleNamespace(audio=audio, sample_rate=16000, ar_steps=25, stopped=True,
                                seconds={"ar": 0.01}, stats=None)]


class RecordingJudges:
    def __init__(self, log):
        self.log = log

    def transcribe(self, wav):
        self.log.append(("transcribe", wav.size))
        return "hello"

    def embed(self, wav):
        return np.array([float(np.abs(wav).mean()) + 1e-3, 1.0])


def test_every_item_is_synthesized_before_any_is_judged(tmp_path, monkeypatch):
    monkeypatch.setattr("vall_e.eval.run.load_audio", lambda path, rate: torch.ones(1600) * 0.1)
    refs = [Reference(f"{s}/a", s, tmp_path / f"{s}.wav", "hi") for s in ("one", "two")]
    log = []
    rows = evaluate_model(RecordingEngine(log), ["hello", "good day"], refs,
                          RecordingJudges(log), params=None)
    kinds = [kind for kind, _ in log]
    assert kinds == ["synthesize"] * 4 + ["transcribe"] * 4
    assert [(r["reference"], r["text"]) for r in rows] == [
        ("one/a", "hello"), ("one/a", "good day"), ("two/a", "hello"), ("two/a", "good day")]
    assert all(r["synthesis_seconds"] > 0 and r["audio_seconds"] == 0.5 for r in rows)
