"""--voice-match: each output frame's finer levels (or its whole log-mel) move toward the nearest
frames of the reference."""
import pytest
import torch

from vall_e.codecs import get_codec, save_random_codec
from vall_e.codecs.mel.voice_match import match_fine_levels, match_voice
from vall_e.config import CodecConfig
from vall_e.errors import ConfigError


def _mel(frames: int, seed: int) -> torch.Tensor:
    return torch.randn(8, frames, generator=torch.Generator().manual_seed(seed))


def test_strength_zero_is_the_input_and_a_frame_of_the_reference_is_its_own_nearest():
    mel = _mel(12, 0)[None]
    assert match_voice(mel, _mel(5, 1), 0.0) is mel
    assert torch.allclose(match_voice(mel, mel[0], 1.0, neighbours=1), mel)


def test_each_frame_moves_the_given_share_toward_the_mean_of_its_nearest():
    reference = torch.stack([torch.full((8,), 0.0), torch.full((8,), 0.0)], dim=1)
    reference[0] = 5.0  # both frames: a peak in bin 0
    reference[0, 1] = 3.0
    frame = torch.zeros(8, 1)
    frame[0] = 1.0  # also a peak in bin 0: both reference frames are near, in that order
    full = match_voice(frame[None], reference, 1.0, neighbours=2)[0]
    assert torch.allclose(full, reference.mean(dim=1, keepdim=True))
    half = match_voice(frame[None], reference, 0.5, neighbours=2)[0]
    assert torch.allclose(half, (frame + full) / 2)
    # more neighbours than reference frames: all of them
    assert torch.allclose(match_voice(frame[None], reference, 1.0, neighbours=9)[0], full)


def test_loudness_does_not_decide_the_match():
    shape = torch.linspace(-1, 1, 8)[:, None]
    reference = torch.cat([shape + 10.0, -shape], dim=1)  # a loud copy of the shape, its mirror
    quiet = shape - 20.0
    matched = match_voice(quiet[None], reference, 1.0, neighbours=1)[0]
    assert torch.allclose(matched, reference[:, :1])


def test_bad_strengths_and_shapes_are_refused():
    with pytest.raises(ValueError, match="strength must be in"):
        match_voice(_mel(3, 0)[None], _mel(3, 1), 1.5)
    with pytest.raises(ValueError, match="must share M"):
        match_voice(_mel(3, 0)[None], torch.zeros(7, 3), 0.5)


def test_the_mel_codec_decodes_toward_the_reference_and_other_codecs_refuse(tmp_path):
    mel = get_codec(CodecConfig(name="mel_rvq", path=str(save_random_codec("mel_rvq", tmp_path / "m")),
                                n_levels=8))
    codes = torch.randint(0, mel.codebook_size, (1, 8, 20))
    reference = torch.randint(0, mel.codebook_size, (8, 30))
    assert mel.with_voice(reference, 0.0) is mel
    plain = mel.decode(codes)
    for levels in ("fine", "all"):
        matched = mel.with_voice(reference, 0.5, levels)
        assert matched.model is mel.model  # the same weights, no copy
        moved = matched.decode(codes)
        assert plain.shape == moved.shape and not torch.allclose(plain, moved)
    assert torch.equal(mel.decode(codes), plain)  # the original codec is untouched
    with pytest.raises(ConfigError, match="--voice-match-levels must be one of"):
        mel.with_voice(reference, 0.5, "coarse")
    with pytest.raises(ConfigError, match="between 0 and 1"):
        mel.with_voice(reference, 1.5)
    encodec = get_codec(CodecConfig(name="encodec", path=str(save_random_codec("encodec", tmp_path / "e")),
                                    n_levels=8))
    assert encodec.with_voice(reference, 0.0) is encodec
    with pytest.raises(ConfigError, match="needs the mel_rvq codec"):
        encodec.with_voice(reference, 0.5)


def _frames(n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, 6, generator=torch.Generator().manual_seed(seed))


def test_fine_matching_keeps_level_0_and_moves_the_rest_toward_the_nearest_references_fine_part():
    coarse, fine = _frames(4, 0), _frames(4, 1)
    ref_coarse, ref_fine = _frames(3, 2), _frames(3, 3)
    ref_coarse[1] = coarse[2] + 0.01  # reference frame 1 sounds like output frame 2 at level 0
    frames, reference = coarse + fine, ref_coarse + ref_fine
    assert match_fine_levels(frames, coarse, reference, ref_coarse, 0.0) is frames
    moved = match_fine_levels(frames, coarse, reference, ref_coarse, 1.0, neighbours=1)
    assert torch.allclose(moved[2], coarse[2] + ref_fine[1])  # level 0 kept, fine part taken over
    half = match_fine_levels(frames, coarse, reference, ref_coarse, 0.5, neighbours=1)
    assert torch.allclose(half, (frames + moved) / 2)
    every = match_fine_levels(frames, coarse, reference, ref_coarse, 1.0, neighbours=9)
    assert torch.allclose(every, coarse + ref_fine.mean(dim=0))  # more neighbours than frames: all


def test_fine_matching_refuses_bad_strengths_and_shapes():
    frames = _frames(4, 0)
    with pytest.raises(ValueError, match="strength must be in"):
        match_fine_levels(frames, frames, frames, frames, -0.1)
    with pytest.raises(ValueError, match="must share D"):
        match_fine_levels(frames, frames, torch.zeros(3, 5), torch.zeros(3, 5), 0.5)


def test_the_mel_codec_keeps_level_0_when_it_matches_the_fine_levels(tmp_path):
    """Decoding one level, there is nothing finer to move: the audio is the plain decode."""
    mel = get_codec(CodecConfig(name="mel_rvq", path=str(save_random_codec("mel_rvq", tmp_path / "m")),
                                n_levels=8))
    codes = torch.randint(0, mel.codebook_size, (1, 8, 20))
    matched = mel.with_voice(torch.randint(0, mel.codebook_size, (8, 30)), 1.0, "fine")
    assert torch.equal(matched.decode_levels(codes, 1), mel.decode_levels(codes, 1))
    assert not torch.allclose(matched.decode_levels(codes, 4), mel.decode_levels(codes, 4))
