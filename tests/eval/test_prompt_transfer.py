"""The prompt-transfer probe: a model that copies its prompt carries all of a change, one that
ignores it none."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vall_e.codecs.mel.codec import load_mel_model, save_random_mel
from vall_e.eval.prompt_transfer import changes_for, long_term_spectrum, measure_prompt_transfer, slope
from vall_e.training.voice_warp import VoiceWarper

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mel_model(tmp_path_factory):
    return load_mel_model(save_random_mel(tmp_path_factory.mktemp("mel"), levels=4, codebook_size=256))


@pytest.fixture(scope="module")
def prompts(mel_model):
    torch.manual_seed(0)
    return [mel_model.quantize(mel_model.analysis(torch.randn(1, 24000) * s), 4)[0][0] for s in (0.5, 1.0)]


def probe(mel_model, prompts, generate, kind):
    warper = VoiceWarper(mel_model, [0.85, 1.15], 0.0, eq_probability=1.0, eq_db=12.0, eq_count=3)
    return measure_prompt_transfer(generate, mel_model, prompts, changes_for(kind, (0.85, 1.15), 3),
                                   warper, levels=4)


@pytest.mark.parametrize("kind", ["warp", "tilt"])
def test_a_copier_carries_everything_and_an_ignorer_nothing(mel_model, prompts, kind):
    copier = probe(mel_model, prompts, lambda i, prompt: [prompt, prompt], kind)
    assert copier.slope == pytest.approx(1.0) and copier.spread == pytest.approx(0.0, abs=1e-6)
    assert copier.pairs == 2 * (2 if kind == "warp" else 3)
    fixed = [p.clone() for p in prompts]
    ignorer = probe(mel_model, prompts, lambda i, prompt: [fixed[i]], kind)
    assert ignorer.slope == pytest.approx(0.0)


def test_half_a_shift_is_half_carried():
    shift = torch.tensor([1.0, -2.0, 0.5])
    assert slope(0.5 * shift, shift) == pytest.approx(0.5)
    assert slope(torch.tensor([2.0, 1.0, 0.0]), shift) == pytest.approx(0.0)  # orthogonal
    with pytest.raises(ValueError, match="did not move"):
        slope(shift, torch.zeros(3))


def test_the_long_term_spectrum_ignores_loudness_and_pauses():
    mel = torch.full((4, 10), -11.5)  # pauses
    mel[:, :8] = torch.tensor([1.0, 2.0, 3.0, 4.0])[:, None]
    spectrum = long_term_spectrum(mel)
    assert torch.allclose(spectrum, torch.tensor([-1.5, -0.5, 0.5, 1.5]))
    assert torch.allclose(long_term_spectrum(mel.clone().add_(3.0)), spectrum)


def test_unknown_change_is_refused():
    with pytest.raises(ValueError, match="'warp' or 'tilt'"):
        changes_for("pitch")


@pytest.mark.slow  # runs the shipped default
def test_script_prints_a_row_for_the_default(tmp_path):
    refs = tmp_path / "refs"
    refs.mkdir()
    for suffix in ("wav", "txt"):
        (refs / f"kumo.{suffix}").symlink_to(ROOT / "data" / "voices" / f"kumo.{suffix}")
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("It is cold today.\n")
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "prompt_transfer.py"), "--model",
                          str(ROOT / "vall_e" / "assets" / "default"), "--refs", str(refs),
                          "--sentences", str(sentences), "--max-sentences", "1", "--change", "warp",
                          "--factors", "0.9", "--threads", "1"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    row = out.stdout.strip().splitlines()[-1].split("|")
    assert row[2].strip() == "warp" and row[3].strip() == "1" and row[4].strip() == "1"
    assert -1.0 < float(row[5]) < 2.0
