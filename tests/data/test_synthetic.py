"""The synthetic corpus: deterministic, in the layout prepare reads, and speaker-dependent."""
from __future__ import annotations

import numpy as np
import soundfile as sf

import vall_e.data.synthetic as synthetic
from vall_e.cli.prepare import main
from vall_e.data.synthetic import WORDS, make_synthetic_corpus


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_layout_and_content(tmp_path):
    root = make_synthetic_corpus(tmp_path / "c", n_speakers=3, n_utterances=2, sample_rate=16000)
    assert _files(root) == ["SYNTHETIC.txt"] + [
        f"spk{s:02d}/utt{u:04d}.{ext}" for s in range(3) for u in range(2) for ext in ("txt", "wav")
    ]
    assert "NOT speech" in (root / "SYNTHETIC.txt").read_text()
    for wav in root.glob("*/*.wav"):
        data, sr = sf.read(wav)
        assert sr == 16000 and data.ndim == 1
        assert 1.0 < len(data) / sr < 5.0  # 3-6 words
        assert 0.3 < np.abs(data).max() <= 0.51
        words = wav.with_suffix(".txt").read_text().strip().rstrip(".").lower().split()
        assert 3 <= len(words) <= 6 and set(words) <= set(WORDS)


def test_deterministic_from_seed(tmp_path):
    a = make_synthetic_corpus(tmp_path / "a", n_speakers=1, n_utterances=2, seed=3)
    b = make_synthetic_corpus(tmp_path / "b", n_speakers=1, n_utterances=2, seed=3)
    c = make_synthetic_corpus(tmp_path / "c", n_speakers=1, n_utterances=2, seed=4)
    wav = "spk00/utt0001.wav"
    assert (a / wav).read_bytes() == (b / wav).read_bytes()
    assert (a / wav).read_bytes() != (c / wav).read_bytes()


def _spectrum(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    power = np.abs(np.fft.rfft(wav)) ** 2
    bands = np.array_split(power[: len(power) * 4000 // (sample_rate // 2)], 40)
    spectrum = np.array([band.sum() for band in bands])
    return spectrum / spectrum.sum()


def test_text_drives_audio_and_speakers_differ():
    sr = 24000
    rng = np.random.default_rng(0)
    alice = synthetic._make_speaker(rng)
    bob = synthetic._make_speaker(rng)
    # Duration is a function of the text alone: same text, same length, for any speaker.
    one = synthetic.synthesize("the cat", alice, sr, np.random.default_rng(1))
    two = synthetic.synthesize("the cat", bob, sr, np.random.default_rng(1))
    assert len(one) == len(two)
    assert len(synthetic.synthesize("the cats", alice, sr, rng)) > len(one)
    # Same speaker, same vowel: near-identical spectrum; another vowel or speaker: different.
    aa = _spectrum(synthetic.synthesize("aaaa", alice, sr, rng), sr)
    aa2 = _spectrum(synthetic.synthesize("aaaa", alice, sr, rng), sr)
    oo = _spectrum(synthetic.synthesize("oooo", alice, sr, rng), sr)
    bob_aa = _spectrum(synthetic.synthesize("aaaa", bob, sr, rng), sr)
    same = np.abs(aa - aa2).sum()
    assert same < 0.05
    assert np.abs(aa - oo).sum() > 5 * same + 0.1
    assert np.abs(aa - bob_aa).sum() > 5 * same + 0.1


def test_cli_synthetic(tmp_path, capsys):
    assert main(["synthetic", "--output", str(tmp_path / "s"), "--speakers", "1",
                 "--utterances", "2", "--seed", "5"]) == 0
    assert "not speech" in capsys.readouterr().out
    assert len(list((tmp_path / "s").glob("spk00/*.wav"))) == 2
    assert main(["synthetic", "--output", str(tmp_path / "t"), "--speakers", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
