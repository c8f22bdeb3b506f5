"""mel_rvq backend: the codec protocol contract, its directory format and its errors."""
from __future__ import annotations

import json
import math

import pytest
import torch

from vall_e.codecs import get_codec, save_random_codec
from vall_e.codecs.mel import MelCodec
from vall_e.codecs.mel.codec import save_random_mel
from vall_e.codecs.mel.vocoder import VocoderSpec
from vall_e.config import CodecConfig
from vall_e.errors import CheckpointError, CodecMismatchError, ConfigError


@pytest.fixture(scope="module")
def mel_dir(tmp_path_factory):
    return save_random_codec("mel_rvq", tmp_path_factory.mktemp("mel_rvq"), seed=0)


@pytest.fixture(scope="module")
def mel(mel_dir):
    return get_codec(CodecConfig(name="mel_rvq", path=str(mel_dir), n_levels=8))


def test_info(mel):
    assert isinstance(mel, MelCodec)
    assert (mel.name, mel.sample_rate) == ("mel_rvq", 24000)
    assert (mel.n_levels, mel.codebook_size) == (8, 1024)
    assert mel.frame_rate == 50.0 and mel.hop_length == 480


@pytest.mark.parametrize("samples", [24000, 24001, 479])
def test_encode_decode_shapes(mel, make_audio, samples):
    wav = make_audio(2, 1.1)[:, :samples]
    codes = mel.encode(wav)
    assert codes.shape == (2, 8, math.ceil(samples / 480)) == (2, 8, mel.num_frames(samples))
    assert codes.dtype == torch.int64 and 0 <= int(codes.min()) and int(codes.max()) < 1024
    audio = mel.decode(codes)
    assert audio.shape == (2, codes.shape[-1] * 480) and torch.isfinite(audio).all()
    assert mel.decode(codes[0]).shape == (1, codes.shape[-1] * 480)  # [K, T] accepted


def test_codes_follow_the_audio(mel, make_audio):
    a, b = mel.encode(make_audio(1, 0.5, seed=1)), mel.encode(make_audio(1, 0.5, seed=2))
    assert not torch.equal(a, b) and len(torch.unique(a[0, 0])) > 1


def test_save_load_round_trip(mel, mel_dir, make_audio, tmp_path):
    wav = make_audio(1, 0.6)
    again = get_codec(CodecConfig(name="mel_rvq", path=str(mel_dir), n_levels=8))
    assert torch.equal(mel.encode(wav), again.encode(wav))
    assert torch.equal(mel.decode(mel.encode(wav)), again.decode(again.encode(wav)))
    # saving is seeded: the same seed writes the same codec
    other = get_codec(CodecConfig(name="mel_rvq", path=str(save_random_codec("mel_rvq", tmp_path)),
                                  n_levels=8))
    assert torch.equal(other.encode(wav), mel.encode(wav))


def test_fewer_levels_is_a_prefix(mel, mel_dir, make_audio):
    wav = make_audio(1, 0.4)
    two = get_codec(CodecConfig(name="mel_rvq", path=str(mel_dir), n_levels=2))
    assert two.info.n_levels == 2 and torch.equal(two.encode(wav), mel.encode(wav)[:, :2])
    assert two.decode(two.encode(wav)).shape[-1] == 20 * 480
    with pytest.raises(CodecMismatchError):
        two.decode(mel.encode(wav))


def test_more_levels_than_trained_refused(mel_dir):
    with pytest.raises(ConfigError, match="trained with 8 levels") as err:
        get_codec(CodecConfig(name="mel_rvq", path=str(mel_dir), n_levels=9))
    assert "\n" not in str(err.value)


def test_missing_and_corrupt_directories(mel_dir, tmp_path):
    with pytest.raises(CheckpointError, match="not a mel_rvq codec directory"):
        get_codec(CodecConfig(name="mel_rvq", path=str(tmp_path), n_levels=8))
    with pytest.raises(CheckpointError, match="not found"):
        get_codec(CodecConfig(name="mel_rvq", path=str(tmp_path / "nope"), n_levels=8))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text((mel_dir / "config.json").read_text())
    (bad / "model.safetensors").write_bytes((mel_dir / "model.safetensors").read_bytes()[:500])
    with pytest.raises(CheckpointError) as err:
        get_codec(CodecConfig(name="mel_rvq", path=str(bad), n_levels=8))
    assert "\n" not in str(err.value)
    (bad / "model.safetensors").write_bytes((mel_dir / "model.safetensors").read_bytes())
    (bad / "config.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(CheckpointError, match="format"):
        get_codec(CodecConfig(name="mel_rvq", path=str(bad), n_levels=8))


def test_lookahead_is_the_receptive_field(tmp_path, make_audio):
    directory = save_random_mel(tmp_path, levels=2, codebook_size=16,
                                vocoder=VocoderSpec(dim=16, intermediate=32, blocks=3))
    codec = get_codec(CodecConfig(name="mel_rvq", path=str(directory), n_levels=2))
    ahead = codec.streaming_lookahead_frames
    assert ahead == (4 + 3 * 4) // 2  # iSTFT overlap (4 mel frames) + 4 convs x 3 frames
    codes = codec.encode(make_audio(1, 0.8))  # 40 frames
    changed = codes.clone()
    changed[..., 30:] = (changed[..., 30:] + 1) % 16
    diff = (codec.decode(changed) - codec.decode(codes)).abs()[0]
    assert diff[: (30 - ahead) * 480].max() == 0  # frames more than `ahead` before are final
    # and the bound is tight: the first samples touched lie under the far tail of a Hann window
    # (weights ~1e-5), lost in float32 rounding, so the change shows one frame later
    assert diff[(30 - ahead) * 480 : (32 - ahead) * 480].max() > 0
