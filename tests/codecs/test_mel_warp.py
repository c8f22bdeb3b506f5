import numpy as np
import pytest
import torch

from vall_e.codecs.mel.codec import load_mel_model, save_random_mel
from vall_e.codecs.mel.warp import source_bins, warp_codes, warp_log_mel


def test_factor_one_leaves_the_log_mel_as_it_is():
    mel = torch.randn(2, 100, 7)
    assert torch.allclose(warp_log_mel(mel, 1.0, 24000), mel, atol=1e-6)


@pytest.mark.parametrize("alpha,moves", [(1.15, 1), (0.85, -1)])
def test_a_spectral_peak_moves_with_the_factor(alpha, moves):
    mel = torch.full((100, 3), -10.0)
    mel[40] = 0.0  # one loud band
    peak = int(warp_log_mel(mel, alpha, 24000)[:, 0].argmax())
    assert np.sign(peak - 40) == moves
    # a formant at f moves to alpha x f: the bin whose source is bin 40 is where it lands
    assert abs(source_bins(alpha, 24000, 100)[peak] - 40) < 1.0


def test_factors_outside_the_range_are_refused():
    with pytest.raises(ValueError, match="warp factor"):
        warp_log_mel(torch.zeros(100, 2), 2.0, 24000)


def test_warped_codes_keep_shape_levels_and_length(tmp_path):
    model = load_mel_model(save_random_mel(tmp_path, levels=3, codebook_size=32))
    wav = torch.randn(1, 24000) * torch.linspace(0, 1, 24000)
    codes, _ = model.quantize(model.analysis(wav), 3)
    codes = codes[0].to(torch.int16)
    same = warp_codes(model, codes, 1.0)
    assert torch.equal(same, codes) and same is not codes
    warped = warp_codes(model, codes, 1.15)
    assert warped.shape == codes.shape and warped.dtype == codes.dtype
    assert not torch.equal(warped, codes)  # another voice, quantized by the same codebooks
    with pytest.raises(ValueError, match="levels, frames"):
        warp_codes(model, codes[None], 1.1)
