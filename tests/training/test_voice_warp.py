import random

import numpy as np
import pytest
import torch

from vall_e.codecs.mel.codec import load_mel_model, save_random_mel
from vall_e.training.voice_warp import VoiceChange, VoiceWarper, eq_curves


@pytest.fixture(scope="module")
def mel_model(tmp_path_factory):
    return load_mel_model(save_random_mel(tmp_path_factory.mktemp("mel"), levels=2, codebook_size=16))


def test_each_utterance_is_warped_once_and_kept(mel_model):
    wav = torch.randn(1, 12000)
    codes = mel_model.quantize(mel_model.analysis(wav), 2)[0][0].numpy().astype(np.int16)
    warper = VoiceWarper(mel_model, [0.9, 1.1], 1.0)
    first = warper.codes(3, codes, VoiceChange(1.1, None))
    assert first is warper.codes(3, codes, VoiceChange(1.1, None))
    assert first.dtype == np.int16 and first.shape == codes.shape


def test_draws_follow_the_probability(mel_model):
    rng = random.Random(0)
    warper = VoiceWarper(mel_model, [0.9, 1.1], 0.25)
    draws = [warper.draw(rng) for _ in range(2000)]
    assert 0.2 < np.mean([d is not None for d in draws]) < 0.3
    assert {d.alpha for d in draws if d is not None} == {0.9, 1.1}
    assert all(d.eq is None for d in draws if d is not None)
    assert VoiceWarper(mel_model, [0.9], 0.0).draw(rng) is None


def test_bad_settings_are_refused(mel_model):
    with pytest.raises(ValueError, match="probability"):
        VoiceWarper(mel_model, [0.9], 1.5)
    with pytest.raises(ValueError, match="at least one factor"):
        VoiceWarper(mel_model, [], 0.5)
    with pytest.raises(ValueError, match="warp factor"):
        VoiceWarper(mel_model, [3.0], 0.5)
    with pytest.raises(ValueError, match="voice EQ probability"):
        VoiceWarper(mel_model, [0.9], 0.5, eq_probability=-0.1)
    with pytest.raises(ValueError, match="eq_db"):
        VoiceWarper(mel_model, [0.9], 0.5, eq_probability=0.5, eq_db=40.0)


def test_eq_curves_are_smooth_bounded_and_fixed_by_the_seed():
    curves = eq_curves(16, 100, 6.0, seed=3)
    peaks_db = np.abs(curves).max(axis=1) * 20 / np.log(10)
    assert curves.shape == (16, 100) and np.all(peaks_db <= 6.0 + 1e-4) and np.all(peaks_db >= 3.0 - 1e-4)
    assert np.abs(np.diff(curves, axis=1)).max() < 0.05  # no comb: neighbouring bins move together
    assert np.array_equal(curves, eq_curves(16, 100, 6.0, seed=3))
    assert not np.array_equal(curves, eq_curves(16, 100, 6.0, seed=4))


def test_eq_and_warp_are_drawn_independently(mel_model):
    rng = random.Random(1)
    warper = VoiceWarper(mel_model, [0.9], 0.5, eq_probability=0.5, eq_count=4)
    draws = [warper.draw(rng) for _ in range(2000)]
    assert 0.2 < np.mean([d is None for d in draws]) < 0.3
    both = [d for d in draws if d is not None and d.alpha is not None and d.eq is not None]
    assert 0.2 < len(both) / len(draws) < 0.3
    assert {d.eq for d in draws if d is not None and d.eq is not None} == {0, 1, 2, 3}


def test_an_eq_change_tilts_the_spectrum_the_codes_stand_for(tmp_path):
    mel_model = load_mel_model(save_random_mel(tmp_path, levels=4, codebook_size=256))
    wav = torch.randn(1, 24000)
    codes = mel_model.quantize(mel_model.analysis(wav), 4)[0][0].numpy().astype(np.int16)
    warper = VoiceWarper(mel_model, [], 0.0, eq_probability=1.0, eq_db=12.0, eq_count=2)
    tilted = warper.codes(0, codes, VoiceChange(None, 1))
    assert tilted is warper.codes(0, codes, VoiceChange(None, 1)) and tilted.shape == codes.shape
    before = mel_model.dequantize(torch.from_numpy(codes[None].astype(np.int64))).mean(-1)[0]
    after = mel_model.dequantize(torch.from_numpy(tilted[None].astype(np.int64))).mean(-1)[0]
    curve = warper.curves[1]
    # the long-term spectrum moves the way the curve points (a random codebook is coarse, so
    # only the direction is asked for)
    assert float(torch.corrcoef(torch.stack([after - before, curve]))[0, 1]) > 0.3
