"""phonemize: espeak-ng via the bundled library, and the documented token scheme."""

import time

import pytest

from vall_e.errors import TextError
from vall_e.text import phonemes_to_string, phonemize, supported_languages
from vall_e.text.phonemize import PUNCTUATION, STRESS_MARKS


def test_english_phones_stress_and_word_boundaries():
    assert phonemize("Hello, world!") == [
        "h", "ə", "l", "ˈ", "oʊ", ",", " ", "w", "ˈ", "ɜː", "l", "d", "!",
    ]


def test_phonemes_to_string_joins_for_display():
    assert phonemes_to_string(phonemize("Hello, world!")) == "həlˈoʊ, wˈɜːld!"


def test_token_scheme_invariants():
    tokens = phonemize("  The quick brown fox; it jumped (twice) over 3.14 dogs... Right?  ")
    assert tokens[0] != " " and tokens[-1] == "?"
    assert all(a != " " or b != " " for a, b in zip(tokens, tokens[1:]))  # no doubled boundary
    for token in tokens:
        assert token, "no empty tokens"
        if token != " " and token not in PUNCTUATION | STRESS_MARKS:  # a phone
            assert not (set(token) & STRESS_MARKS), f"stress not split off {token!r}"
            assert not (set(token) & set("|- ")), f"separator leaked into {token!r}"
    assert [t for t in tokens if t in PUNCTUATION] == [";", "(", ")", ".", ".", ".", "?"]
    # Marks keep the text's spacing: a boundary after ";" and "...", none inside "(...)".
    display = phonemes_to_string(tokens)
    assert "ks; ɪt" in display and "(twˈaɪs)" in display and "ɡz... ɹ" in display


def test_decimal_number_is_read_not_split():
    text = phonemes_to_string(phonemize("3.14"))
    assert "." not in text and "pɔɪnt" in text  # "three point one four"


def test_em_dash_becomes_a_pause_token_but_hyphens_do_not():
    tokens = phonemize("wait\u2014what")
    dash = tokens.index("-")
    assert tokens[dash - 1] == " " and tokens[dash + 1] == " "
    assert "-" not in phonemize("well-known")


def test_curly_quotes_are_normalized_first():
    assert phonemize("\u201cyes\u201d") == phonemize('"yes"')
    assert phonemize('"yes"')[0] == '"'


def test_punctuation_only_text():
    assert phonemize("...") == [".", ".", "."]


@pytest.mark.parametrize(
    "language, text, expected",
    [
        ("fr-fr", "Bonjour le monde.", "bɔ̃ʒˈuʁ lə mˈɔ̃d."),
        ("de", "Guten Tag, wie geht's?", "ɡˈuːtən tˈɑːk, viː ɡˈeːts?"),
    ],
)
def test_second_language(language, text, expected):
    tokens = phonemize(text, language)
    assert phonemes_to_string(tokens) == expected
    assert "-" not in tokens  # espeak's in-word clitic marker is not a token


def test_language_code_is_case_and_underscore_tolerant():
    assert phonemize("hi", "EN_US") == phonemize("hi", "en-us")


@pytest.mark.parametrize("language", ["klingon", "en", "xx-yy"])
def test_unknown_language_raises_text_error(language):
    with pytest.raises(TextError) as info:
        phonemize("hello", language)
    message = str(info.value)
    assert repr(language) in message and "en-us" in message and "espeak-ng" in message
    assert "\n" not in message


def test_empty_text_raises():
    with pytest.raises(TextError, match="text is empty"):
        phonemize(" \n ")


def test_supported_languages_lists_common_codes():
    codes = supported_languages()
    assert {"en-us", "en-gb", "fr-fr", "de", "es", "ja", "cmn"} <= set(codes)


def test_warm_backend_is_fast():
    sentence = "The quick brown fox jumps over the lazy dog."
    phonemize(sentence)  # warm
    start = time.perf_counter()
    for _ in range(50):
        phonemize(sentence)
    per_call = (time.perf_counter() - start) / 50
    assert per_call < 0.01, f"{per_call * 1000:.2f} ms per sentence; backends are not cached?"
