"""Codec registry and CodecInfo: dispatch, unknown names, cheap import, mismatch errors."""
from __future__ import annotations

import subprocess
import sys

import pytest

from vall_e.codecs import CODECS, AudioCodec, CodecInfo, get_codec, save_random_codec
from vall_e.codecs.encodec import EncodecCodec
from vall_e.codecs.snac import SnacCodec
from vall_e.config import CodecConfig
from vall_e.errors import CheckpointError, CodecMismatchError, ConfigError

ENCODEC = CodecInfo("encodec", 24000, 75.0, 8, 1024)
SNAC = CodecInfo("snac", 24000, 11.71875, 7, 4096)


def test_dispatch(encodec, snac):
    assert set(CODECS) >= {"encodec", "snac"}
    assert isinstance(encodec, EncodecCodec) and isinstance(encodec, AudioCodec)
    assert isinstance(snac, SnacCodec)
    assert encodec.info == ENCODEC and snac.info == SNAC


def test_unknown_name(tmp_path):
    with pytest.raises(ConfigError, match=r"'dac'.*\['encodec', 'mel_rvq', 'snac'"):
        get_codec(CodecConfig(name="dac", path=str(tmp_path)))
    with pytest.raises(ConfigError, match="valid names"):
        save_random_codec("dac", tmp_path)


@pytest.mark.slow  # a subprocess
def test_import_is_cheap():
    code = "import sys, vall_e.codecs; assert 'transformers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_info_round_trip():
    assert CodecInfo.from_dict(ENCODEC.to_dict()) == ENCODEC
    assert CodecInfo.from_dict({**SNAC.to_dict(), "future_key": 1}) == SNAC
    with pytest.raises(CheckpointError, match="codebook_size"):
        CodecInfo.from_dict({k: v for k, v in ENCODEC.to_dict().items() if k != "codebook_size"})


def test_require_match():
    ENCODEC.require_match(CodecInfo("encodec", 24000, 75.0000001, 8, 1024), "codes in data/x")
    with pytest.raises(CodecMismatchError) as err:
        ENCODEC.require_match(SNAC, "codes in data/x")
    msg = str(err.value)
    assert msg.startswith("codes in data/x: made with encodec (24000 Hz")
    assert "codec in use is snac" in msg and "\n" not in msg
    assert "name, frame_rate, n_levels, codebook_size" in msg
    with pytest.raises(CodecMismatchError, match=r"differs in n_levels\)"):
        ENCODEC.require_match(CodecInfo("encodec", 24000, 75.0, 4, 1024), "checkpoint runs/a")
