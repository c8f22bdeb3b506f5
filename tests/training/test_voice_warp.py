import random

import numpy as np
import pytest
import torch

from vall_e.codecs.mel.codec import load_mel_model, save_random_mel
from vall_e.training.voice_warp import VoiceWarper


@pytest.fixture(scope="module")
def mel_model(tmp_path_factory):
    return load_mel_model(save_random_mel(tmp_path_factory.mktemp("mel"), levels=2, codebook_size=16))


def test_each_utterance_is_warped_once_and_kept(mel_model):
    wav = torch.randn(1, 12000)
    codes = mel_model.quantize(mel_model.analysis(wav), 2)[0][0].numpy().astype(np.int16)
    warper = VoiceWarper(mel_model, [0.9, 1.1], 1.0)
    first = warper.codes(3, codes, 1.1)
    assert first is warper.codes(3, codes, 1.1)
    assert first.dtype == np.int16 and first.shape == codes.shape


def test_draws_follow_the_probability(mel_model):
    rng = random.Random(0)
    warper = VoiceWarper(mel_model, [0.9, 1.1], 0.25)
    draws = [warper.draw(rng) for _ in range(2000)]
    assert 0.2 < np.mean([d is not None for d in draws]) < 0.3
    assert {d for d in draws if d is not None} == {0.9, 1.1}
    assert VoiceWarper(mel_model, [0.9], 0.0).draw(rng) is None


def test_bad_settings_are_refused(mel_model):
    with pytest.raises(ValueError, match="probability"):
        VoiceWarper(mel_model, [0.9], 1.5)
    with pytest.raises(ValueError, match="at least one factor"):
        VoiceWarper(mel_model, [], 0.5)
    with pytest.raises(ValueError, match="warp factor"):
        VoiceWarper(mel_model, [3.0], 0.5)
