"""EnCodec backend: shapes, dtypes, ranges, n_levels, input checks and loading errors."""
from __future__ import annotations

import pytest
import torch

from vall_e.codecs import get_codec
from vall_e.codecs.encodec import EncodecCodec
from vall_e.config import CodecConfig
from vall_e.errors import CheckpointError, CodecMismatchError, ConfigError


def test_info(encodec):
    assert encodec.name == "encodec"
    assert (encodec.sample_rate, encodec.frame_rate, encodec.n_levels) == (24000, 75.0, 8)
    assert encodec.codebook_size == 1024 and encodec.hop_length == 320
    assert encodec.bandwidth == 6.0


def test_encode_shape_dtype_range(encodec, make_audio):
    wav = make_audio(2, 1.0)
    codes = encodec.encode(wav)
    assert codes.shape == (2, 8, encodec.num_frames(wav.shape[-1]))
    assert abs(codes.shape[-1] - encodec.frame_rate * 1.0) <= 1
    assert codes.dtype == torch.int64
    assert 0 <= int(codes.min()) and int(codes.max()) < 1024
    assert len(codes[0, 0].unique()) > 1, "random codebooks should give varying codes"
    assert not codes.is_inference()


def test_encode_accepts_all_input_shapes(encodec, make_audio):
    wav = make_audio(1, 0.5)[0]
    a, b, c = encodec.encode(wav), encodec.encode(wav[None]), encodec.encode(wav[None, None])
    assert a.shape == (1, 8, 38)
    assert torch.equal(a, b) and torch.equal(a, c)


def test_decode_shapes(encodec, make_audio):
    codes = encodec.encode(make_audio(2, 1.0))
    audio = encodec.decode(codes)
    assert audio.shape == (2, codes.shape[-1] * encodec.hop_length)
    assert audio.dtype == torch.float32 and torch.isfinite(audio).all()
    assert encodec.decode(codes[0]).shape == (1, audio.shape[-1])


@pytest.mark.parametrize("n_levels", [2, 32])
def test_other_bandwidths(encodec, make_audio, n_levels):
    codec = EncodecCodec(encodec.model, n_levels=n_levels)
    codes = codec.encode(make_audio(1, 0.2))
    assert codes.shape[1] == n_levels and codec.bandwidth == n_levels * 0.75
    assert torch.isfinite(codec.decode(codes)).all()


def test_bad_n_levels(encodec_dir):
    with pytest.raises(ConfigError, match=r"n_levels 5 .*\[2, 4, 8, 16, 32\]"):
        get_codec(CodecConfig(name="encodec", path=str(encodec_dir), n_levels=5))


def test_input_checks(encodec):
    with pytest.raises(CodecMismatchError, match="4 levels"):
        encodec.decode(torch.zeros(1, 4, 10, dtype=torch.long))
    with pytest.raises(ValueError, match="1024"):
        encodec.decode(torch.full((8, 10), 1024))
    with pytest.raises(ValueError, match="integer"):
        encodec.decode(torch.zeros(8, 10))
    with pytest.raises(ValueError, match="float"):
        encodec.encode(torch.zeros(100, dtype=torch.int16))
    with pytest.raises(ValueError, match="mono"):
        encodec.encode(torch.zeros(1, 2, 100))
    with pytest.raises(ValueError, match="NaN"):
        encodec.encode(torch.full((100,), float("nan")))
    assert encodec.to("cpu") is encodec


def test_missing_dir_without_download(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(CheckpointError, match="allow_download") as err:
        get_codec(CodecConfig(name="encodec", path=str(missing)))
    assert str(missing) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(CheckpointError, match="not set"):
        get_codec(CodecConfig(name="encodec", path=None))


def test_incomplete_local_dir(tmp_path):
    with pytest.raises(CheckpointError, match="could not be loaded") as err:
        get_codec(CodecConfig(name="encodec", path=str(tmp_path)))
    assert "\n" not in str(err.value)


def test_hub_unreachable_is_one_line(monkeypatch):
    import transformers

    def offline(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co'\nto load the files")

    monkeypatch.setattr(transformers.EncodecModel, "from_pretrained", offline)
    with pytest.raises(CheckpointError, match="hub") as err:
        get_codec(CodecConfig(name="encodec", path="facebook/encodec_24khz", allow_download=True))
    assert "\n" not in str(err.value)
