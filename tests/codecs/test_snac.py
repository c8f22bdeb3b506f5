"""SNAC backend: the 7-sub-level layout, shapes, loading formats and errors."""
from __future__ import annotations

import json

import pytest
import torch

from vall_e.codecs import get_codec
from vall_e.codecs.snac import SNAC_24KHZ_CONFIG
from vall_e.config import CodecConfig
from vall_e.errors import CheckpointError, CodecMismatchError, ConfigError


def test_info(snac):
    assert snac.name == "snac"
    assert (snac.sample_rate, snac.n_levels, snac.codebook_size) == (24000, 7, 4096)
    assert snac.frame_rate == pytest.approx(11.71875) and snac.hop_length == 2048


def test_encode_shape_dtype_range(snac, make_audio):
    wav = make_audio(2, 1.0)
    codes = snac.encode(wav)
    assert codes.shape == (2, 7, 12)  # ceil(24000 / 2048)
    assert codes.shape[-1] == snac.num_frames(24000) == snac.seconds_to_frames(1.0)
    assert abs(codes.shape[-1] - snac.frame_rate * 1.0) <= 1
    assert codes.dtype == torch.int64
    assert 0 <= int(codes.min()) and int(codes.max()) < 4096


def test_layout_is_coarse_to_fine(snac, make_audio):
    wav = make_audio(2, 0.5)
    codes = snac.encode(wav)
    with torch.inference_mode():
        l0, l1, l2 = snac.model.encode(wav[:, None])
    assert torch.equal(codes[:, 0], l0)
    assert torch.equal(codes[:, 1], l1[:, 0::2]) and torch.equal(codes[:, 2], l1[:, 1::2])
    for j in range(4):
        assert torch.equal(codes[:, 3 + j], l2[:, j::4])


def test_decode_inverts_layout(snac, make_audio, monkeypatch):
    wav = make_audio(1, 0.5)
    with torch.inference_mode():
        levels = snac.model.encode(wav[:, None])
    seen = {}
    real_decode = snac.model.decode

    def spy(codes):
        seen["levels"] = codes
        return real_decode(codes)

    monkeypatch.setattr(snac.model, "decode", spy)
    audio = snac.decode(snac.encode(wav))
    assert all(torch.equal(a, b) for a, b in zip(seen["levels"], levels))
    assert audio.shape == (1, levels[0].shape[-1] * 2048) and torch.isfinite(audio).all()


def test_decode_2d_codes(snac, make_audio):
    codes = snac.encode(make_audio(1, 0.2))
    assert snac.decode(codes[0]).shape == (1, codes.shape[-1] * snac.hop_length)


def test_bad_n_levels(snac_dir):
    with pytest.raises(ConfigError, match="n_levels: 7"):
        get_codec(CodecConfig(name="snac", path=str(snac_dir), n_levels=3))


def test_wrong_codes(snac):
    with pytest.raises(CodecMismatchError):
        snac.decode(torch.zeros(1, 8, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="4096"):
        snac.decode(torch.full((7, 4), 4096))


def test_loads_pytorch_model_bin(snac, snac_dir, tmp_path):
    from safetensors.torch import load_file

    (tmp_path / "config.json").write_text(json.dumps(SNAC_24KHZ_CONFIG))
    torch.save(load_file(str(snac_dir / "model.safetensors")), tmp_path / "pytorch_model.bin")
    codec = get_codec(CodecConfig(name="snac", path=str(tmp_path), n_levels=7))
    first = next(iter(snac.model.state_dict().values()))
    assert torch.equal(next(iter(codec.model.state_dict().values())), first)


def test_missing_or_incomplete_dir(tmp_path):
    with pytest.raises(CheckpointError, match="allow_download"):
        get_codec(CodecConfig(name="snac", path=str(tmp_path / "nope"), n_levels=7))
    with pytest.raises(CheckpointError, match="config.json"):
        get_codec(CodecConfig(name="snac", path=str(tmp_path), n_levels=7))
    (tmp_path / "config.json").write_text("{not json")
    (tmp_path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="could not be loaded") as err:
        get_codec(CodecConfig(name="snac", path=str(tmp_path), n_levels=7))
    assert "\n" not in str(err.value)


def test_hub_unreachable_is_one_line(monkeypatch):
    import huggingface_hub

    def offline(*args, **kwargs):
        raise OSError("cannot reach\nhuggingface.co")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    with pytest.raises(CheckpointError, match="hub") as err:
        get_codec(CodecConfig(name="snac", path="hubertsiuzdak/snac_24khz", n_levels=7,
                              allow_download=True))
    assert "\n" not in str(err.value)


def test_random_weights_are_seeded(snac_dir, tmp_path):
    from safetensors.torch import load_file

    from vall_e.codecs.snac import save_random_snac

    again = load_file(str(save_random_snac(tmp_path, seed=0) / "model.safetensors"))
    first = load_file(str(snac_dir / "model.safetensors"))
    assert again.keys() == first.keys() and all(torch.equal(again[k], first[k]) for k in first)
