"""mel_rvq building blocks: the fixed analysis, frame stacking, residual k-means, the vocoder."""
from __future__ import annotations

import torch

from vall_e.codecs.mel.features import MelAnalysis, mel_filterbank, stack_frames, unstack_frames
from vall_e.codecs.mel.rvq import fit_residual_kmeans, nearest
from vall_e.codecs.mel.vocoder import Vocoder, VocoderSpec


def test_analysis_shape_and_determinism(make_audio):
    analysis = MelAnalysis()
    wav = make_audio(2, 1.1)[:, :24000]
    mel = analysis(wav)
    assert mel.shape == (2, 100, 100)  # 24000 samples = 50 stacked frames = 100 mel frames
    assert analysis(make_audio(2, 1.1)[:, :24001]).shape == (2, 100, 102)  # one more pair
    assert torch.equal(mel, MelAnalysis()(wav))  # no learned or random state
    assert torch.isfinite(mel).all() and float(mel.min()) >= torch.log(torch.tensor(1e-5)) - 1e-6


def test_filterbank_covers_spectrum():
    fb = mel_filterbank(24000, 1024, 100)
    assert fb.shape == (100, 513) and (fb >= 0).all()
    assert (fb.sum(1) > 0).all()  # no empty filter at 100 bins and n_fft 1024


def test_stack_round_trip():
    mel = torch.randn(2, 100, 8)
    stacked = stack_frames(mel)
    assert stacked.shape == (2, 4, 200)
    assert torch.equal(stacked[0, 1, :100], mel[0, :, 2])
    assert torch.equal(stacked[0, 1, 100:], mel[0, :, 3])
    assert torch.equal(unstack_frames(stacked), mel)


def test_residual_kmeans_error_falls_with_levels():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(12, 6, generator=g) * 3
    x = centres[torch.randint(12, (1500,), generator=g)] + 0.5 * torch.randn(1500, 6, generator=g)
    rvq = fit_residual_kmeans(x, levels=3, size=8, iterations=20, batch=256, seed=0)
    codes = rvq.encode(x)
    assert codes.shape == (1500, 3) and codes.dtype == torch.int64
    assert 0 <= int(codes.min()) and int(codes.max()) < 8
    errors = [float(((x - rvq.decode(codes[:, :k])) ** 2).mean()) for k in (1, 2, 3)]
    assert errors[0] > errors[1] > errors[2] and errors[0] < float(x.var(0).sum())
    assert torch.equal(rvq.encode(x, levels=2), codes[:, :2])  # residual codes are a prefix code
    again = fit_residual_kmeans(x, levels=3, size=8, iterations=20, batch=256, seed=0)
    assert torch.equal(again.codebooks, rvq.codebooks)  # seeded


def test_nearest_matches_cdist():
    x, c = torch.randn(300, 5), torch.randn(7, 5)
    assert torch.equal(nearest(x, c), torch.cdist(x, c).argmin(-1))


def test_vocoder_length_and_receptive_field():
    spec = VocoderSpec(dim=16, intermediate=32, blocks=2)
    vocoder = Vocoder(spec).eval()
    mel = torch.randn(1, 100, 20)
    with torch.no_grad():
        audio = vocoder(mel)
        assert audio.shape == (1, 20 * 240)
        changed = mel.clone()
        changed[..., 15:] += 1.0  # frames 15.. may only reach back right_context frames
        diff = (vocoder(changed) - audio).abs()[0]
    first = (15 - spec.right_context()) * 240 - 512  # iSTFT window reaches 512 samples back
    assert diff[: first].max() == 0 and diff.max() > 0
