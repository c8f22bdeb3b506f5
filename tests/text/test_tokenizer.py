"""PhonemeTokenizer: ids, unknown symbols, decoding and the vocab file."""

import json
import warnings

import pytest

from vall_e.errors import CheckpointError, TextError
from vall_e.text import PhonemeTokenizer, phonemize

LISTS = [["h", "ə", "l", "ˈ", "oʊ"], ["w", "ˈ", "ɜː", "l", "d", "!"], [" ", ","]]


def _tokenizer() -> PhonemeTokenizer:
    return PhonemeTokenizer.from_phoneme_lists(LISTS)


def test_special_ids():
    tok = _tokenizer()
    assert (tok.PAD_ID, tok.UNK_ID, tok.BOS_ID, tok.EOS_ID) == (0, 1, 2, 3)
    assert tok.vocab[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]


def test_from_phoneme_lists_is_sorted_and_deduplicated():
    tok = _tokenizer()
    symbols = tok.vocab[4:]
    assert symbols == sorted(set(sum(LISTS, [])))
    assert len(tok) == 4 + len(symbols)
    assert PhonemeTokenizer.from_phoneme_lists(reversed(LISTS)).vocab == tok.vocab


def test_constructor_keeps_the_given_order():
    assert PhonemeTokenizer(["b", "a"]).encode(["a", "b"], add_bos_eos=False) == [5, 4]


def test_round_trip():
    tok = _tokenizer()
    tokens = ["h", "ə", "l", "ˈ", "oʊ", ",", " ", "w", "ˈ", "ɜː", "l", "d", "!"]
    ids = tok.encode(tokens)
    assert ids[0] == tok.BOS_ID and ids[-1] == tok.EOS_ID and len(ids) == len(tokens) + 2
    assert tok.decode(ids) == tokens
    assert tok.encode(tokens, add_bos_eos=False) == ids[1:-1]


def test_round_trip_real_phonemes():
    tokens = phonemize("The quick brown fox, jumped!")
    tok = PhonemeTokenizer.from_phoneme_lists([tokens])
    assert tok.decode(tok.encode(tokens)) == tokens


def test_decode_skips_pad_bos_eos_and_keeps_unk():
    tok = _tokenizer()
    h = tok.encode(["h"], add_bos_eos=False)[0]
    assert tok.decode([tok.BOS_ID, h, tok.UNK_ID, tok.EOS_ID, tok.PAD_ID, tok.PAD_ID]) == ["h", "<unk>"]


def test_decode_out_of_range_id_raises():
    with pytest.raises(TextError, match="outside the phoneme vocabulary"):
        _tokenizer().decode([999])


def test_unknown_symbol_maps_to_unk_and_warns_once_per_symbol():
    tok = _tokenizer()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ids = tok.encode(["h", "ʒ", "ʒ", "q", "ʒ"], add_bos_eos=False)
        ids += tok.encode(["ʒ", "q"], add_bos_eos=False)
    assert ids[0] != tok.UNK_ID and ids[1:] == [tok.UNK_ID] * 6
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert "'ʒ'" in messages[0] and "'q'" in messages[1]
    # A fresh tokenizer warns again: the memory is per instance.
    with pytest.warns(UserWarning, match="'ʒ'"):
        _tokenizer().encode(["ʒ"])


def test_encode_rejects_a_plain_string():
    with pytest.raises(TextError, match="not a string"):
        _tokenizer().encode("hello")


def test_invalid_symbols_rejected():
    with pytest.raises(TextError, match="repeated"):
        PhonemeTokenizer(["a", "a"])
    with pytest.raises(TextError, match="special"):
        PhonemeTokenizer(["<pad>", "a"])
    with pytest.raises(TextError):
        PhonemeTokenizer(["a", ""])


def test_save_load_round_trip(tmp_path):
    tok = _tokenizer()
    path = tmp_path / "sub" / "vocab.json"
    tok.save(path)
    payload = json.loads(path.read_text(encoding="utf-8"))
    assert payload == {"format": "vall_e.phoneme_vocab", "version": 1, "symbols": tok.vocab[4:]}
    loaded = PhonemeTokenizer.load(path)
    assert loaded.vocab == tok.vocab
    assert loaded.encode(["h", "oʊ"]) == tok.encode(["h", "oʊ"])
    tok.save(path)  # overwriting works and leaves no temp files behind
    assert [p.name for p in path.parent.iterdir()] == ["vocab.json"]


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2]",
        '{"format": "something.else", "version": 1, "symbols": []}',
        '{"format": "vall_e.phoneme_vocab", "version": 2, "symbols": []}',
        '{"format": "vall_e.phoneme_vocab", "version": 1, "symbols": "abc"}',
        '{"format": "vall_e.phoneme_vocab", "version": 1, "symbols": ["a", "a"]}',
        '{"format": "vall_e.phoneme_vocab", "version": 1, "symbols": [1]}',
    ],
)
def test_load_corrupt_file_raises_checkpoint_error(tmp_path, content):
    path = tmp_path / "vocab.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CheckpointError) as info:
        PhonemeTokenizer.load(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_load_missing_file_raises_checkpoint_error(tmp_path):
    path = tmp_path / "nope.json"
    with pytest.raises(CheckpointError, match="does not exist") as info:
        PhonemeTokenizer.load(path)
    assert str(path) in str(info.value)
