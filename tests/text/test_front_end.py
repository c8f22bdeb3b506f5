"""The one text front end: units by kind, one normalization, the AR+NAR ids."""
from types import SimpleNamespace

import pytest

from vall_e.errors import TextError
from vall_e.text import PhonemeTokenizer, normalize_text, phonemize
from vall_e.text.front_end import (load_text_units, phoneme_ids, prepare_text, text_units,
                                   training_units)

SETTINGS = SimpleNamespace(language="en-us", max_text_chars=300)


def test_prepare_text_normalizes_once_and_checks():
    text = prepare_text("  \u201cHi,\u201d  she said  ", SETTINGS)
    assert text == normalize_text(text) == '"Hi," she said'
    with pytest.raises(TextError):
        prepare_text("   ", SETTINGS)
    with pytest.raises(TextError, match="at most 5"):
        prepare_text("hello there", SimpleNamespace(language="en-us", max_text_chars=5))


def test_units_by_kind():
    assert text_units("hi there", "en-us", "characters") == list("hi there")
    assert text_units("hi there", "en-us", "text") == ["hi there"]
    assert text_units("hi there", "en-us", "phonemes") == phonemize("hi there", "en-us")
    with pytest.raises(ValueError):
        text_units("hi", "en-us", "words")


def test_training_units_by_kind():
    assert training_units(" a\tb ", ["x"], "characters") == list("a b")
    assert training_units("a b", ("x", "y"), "phonemes") == ["x", "y"]
    assert training_units("a  b", ["x"], "text") == ["a  b"]


def test_phoneme_ids_wrap_the_phonemes():
    phones = phonemize("hi there", "en-us")
    tokenizer = PhonemeTokenizer.from_phoneme_lists([phones])
    assert phoneme_ids(" hi   there ", SETTINGS, tokenizer) == tokenizer.encode(phones)


def test_load_text_units_loads_the_language_or_refuses_it():
    load_text_units("en-us")  # espeak-ng and its English data, ready for the first synthesis
    load_text_units("no-such-language", kind="characters")  # characters need nothing loaded
    with pytest.raises(TextError, match="unknown language"):
        load_text_units("no-such-language")
