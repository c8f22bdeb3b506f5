"""The prepared-data format: round trip, no pickle, codec tagging, resumable appends."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from vall_e.codecs import CodecInfo
from vall_e.data.shards import (
    DataError, ShardWriter, Utterance, done_sources, failed_sources, load_prepared, record_failure,
)
from vall_e.errors import CodecMismatchError, VallEError

INFO = CodecInfo(name="encodec", sample_rate=24000, frame_rate=75.0, n_levels=2, codebook_size=1024)
# Multi-code-point phones, stress marks and the " " word boundary must all survive the trip.
PHONES = ["h", "ə", "l", "ˈ", "oʊ", ",", " ", "w", "ˈ", "ɜː", "l", "d", " ", "ɔ̃", "!"]


def _utts(n: int, seed: int = 0) -> list[Utterance]:
    rng = np.random.default_rng(seed)
    return [
        Utterance(
            id=f"spk{i % 2}/utt{i}", speaker=f"spk{i % 2}", text=f"Sentence number {i}.",
            phonemes=PHONES[: 3 + i],
            codes=rng.integers(0, INFO.codebook_size, size=(INFO.n_levels, 5 + 3 * i)),
        )
        for i in range(n)
    ]


def _write(out, utts, info=INFO, shard_size=2):
    with ShardWriter(out, info, shard_size) as writer:
        for utt in utts:
            writer.add(utt, source=f"/corpus/{utt.id}.wav")
    return writer


def test_round_trip(tmp_path):
    utts = _utts(5)
    writer = _write(tmp_path, utts)
    assert writer.shards_written == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "codec.json", "shard-00000.json", "shard-00000.npz", "shard-00001.json",
        "shard-00001.npz", "shard-00002.json", "shard-00002.npz",
    ]  # and no temporary files left behind
    info, loaded = load_prepared(tmp_path, expected=INFO)
    assert info == INFO
    assert [u.id for u in loaded] == [u.id for u in utts]
    for got, want in zip(loaded, utts):
        assert (got.speaker, got.text, got.phonemes) == (want.speaker, want.text, want.phonemes)
        assert got.codes.dtype == np.int16 and got.codes.shape == want.codes.shape
        np.testing.assert_array_equal(got.codes, want.codes)
    codec_json = json.loads((tmp_path / "codec.json").read_text())
    assert codec_json == {**INFO.to_dict(), "format": "vall_e.codes", "version": 1}
    rows = json.loads((tmp_path / "shard-00001.json").read_text())["utterances"]
    assert rows[0] == {"id": "spk0/utt2", "speaker": "spk0", "text": "Sentence number 2.",
                       "source": "/corpus/spk0/utt2.wav", "n_frames": 11, "n_phonemes": 5}


def test_npz_layout_and_no_pickle(tmp_path):
    _write(tmp_path, _utts(2))
    with zipfile.ZipFile(tmp_path / "shard-00000.npz") as zf:
        assert sorted(zf.namelist()) == [
            "codes.npy", "offsets.npy", "phoneme_offsets.npy", "phonemes.npy"]
    with np.load(tmp_path / "shard-00000.npz", allow_pickle=False) as npz:
        assert npz["codes"].dtype == np.int16 and npz["codes"].shape == (2, 5 + 8)
        assert npz["offsets"].tolist() == [0, 5, 13]
        assert npz["phonemes"].dtype.kind == "U"
        assert npz["phonemes"].tolist() == PHONES[:3] + PHONES[:4]
        assert npz["phoneme_offsets"].tolist() == [0, 3, 7]


def test_pickled_shard_is_refused(tmp_path):
    _write(tmp_path, _utts(1))
    objects = np.array([["h", "ə"]], dtype=object)
    np.savez(tmp_path / "shard-00000.npz", codes=np.zeros((2, 5), np.int16),
             offsets=np.array([0, 5]), phonemes=objects, phoneme_offsets=np.array([0, 2]))
    with pytest.raises(DataError, match="unreadable shard"):
        load_prepared(tmp_path)


def test_codec_mismatch_refused(tmp_path):
    _write(tmp_path, _utts(1))
    other = CodecInfo(name="encodec", sample_rate=24000, frame_rate=75.0, n_levels=8,
                      codebook_size=1024)
    with pytest.raises(CodecMismatchError, match="n_levels"):
        ShardWriter(tmp_path, other, 2)
    with pytest.raises(CodecMismatchError, match="n_levels"):
        load_prepared(tmp_path, expected=other)
    assert len(load_prepared(tmp_path)[1]) == 1  # without expectations it loads


def test_missing_data_is_a_one_line_error(tmp_path):
    with pytest.raises(VallEError) as exc:
        load_prepared(tmp_path / "nope")
    message = str(exc.value)
    assert "no prepared data at" in message and "python -m vall_e.data prepare" in message
    assert "\n" not in message
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "codec.json").write_text('{"name": "encodec"}')
    with pytest.raises(DataError, match="not a vall_e codes description"):
        load_prepared(tmp_path / "bad")


def test_appending_continues_after_existing_shards(tmp_path):
    first, second = _utts(3), _utts(5, seed=1)[3:]
    _write(tmp_path, first)
    # An .npz whose sidecar never landed (crash between the two writes) is ignored and kept.
    (tmp_path / "shard-00002.npz").write_bytes(b"partial")
    _write(tmp_path, second)
    assert (tmp_path / "shard-00002.npz").read_bytes() == b"partial"
    assert (tmp_path / "shard-00003.json").is_file()
    _, loaded = load_prepared(tmp_path)
    assert [u.id for u in loaded] == [u.id for u in first + second]
    assert done_sources(tmp_path) == {f"/corpus/{u.id}.wav" for u in first + second}


def test_add_validates_codes(tmp_path):
    writer = ShardWriter(tmp_path, INFO, 4)
    utt = _utts(1)[0]
    with pytest.raises(DataError, match="shape"):
        writer.add(Utterance(utt.id, utt.speaker, utt.text, utt.phonemes, utt.codes[:1]), "x")
    with pytest.raises(DataError, match="outside"):
        writer.add(Utterance(utt.id, utt.speaker, utt.text, utt.phonemes, utt.codes + 1024), "x")
    huge = CodecInfo(name="big", sample_rate=24000, frame_rate=75.0, n_levels=2,
                     codebook_size=65536)
    with pytest.raises(DataError, match="int16"):
        ShardWriter(tmp_path / "big", huge, 4)


def test_utterance_without_phonemes_round_trips(tmp_path):
    utt = Utterance("a/b", "a", "", [], np.zeros((2, 3), np.int64))
    _write(tmp_path, [utt])
    assert load_prepared(tmp_path)[1][0].phonemes == []


def test_failed_records(tmp_path):
    assert failed_sources(tmp_path) == {}
    record_failure(tmp_path, "/a.wav", "first\nreason")
    record_failure(tmp_path, "/b.wav", "other")
    record_failure(tmp_path, "/a.wav", "second reason")
    with open(tmp_path / "failed.jsonl", "a") as handle:
        handle.write('{"source": "/torn')  # a crash mid-append must not break reading
    assert failed_sources(tmp_path) == {"/a.wav": "second reason", "/b.wav": "other"}
    first = json.loads((tmp_path / "failed.jsonl").read_text().splitlines()[0])
    assert first == {"source": "/a.wav", "reason": "first reason"}
