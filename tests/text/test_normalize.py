"""normalize_text and split_sentences: clean-up rules and the splitting contract."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vall_e.errors import TextError
from vall_e.text import normalize_text, split_sentences


@pytest.mark.parametrize("text", ["", "   ", "\n\t \u200b", "\ufeff"])
def test_normalize_empty_text_raises(text):
    with pytest.raises(TextError, match="text is empty"):
        normalize_text(text)


def test_normalize_typography_to_ascii():
    assert normalize_text("\u201cHi,\u201d she said \u2014 it\u2019s\u2026 fine") == (
        '"Hi," she said - it\'s... fine'
    )
    assert normalize_text("1990\u20132000, \u22125 \u00abbonjour\u00bb") == '1990-2000, -5 "bonjour"'


def test_normalize_whitespace_nfkc_and_invisible_chars():
    assert normalize_text("  a\t\tb\n\nc\u00a0d\u200be  ") == "a b c de"
    assert normalize_text("\uff28\uff49\uff01 \ufb01ne") == "Hi! fine"  # full-width, ligature


def test_normalize_cjk_marks_get_ascii_and_a_boundary():
    assert normalize_text("\u4f60\u597d\u3002\u4e16\u754c\u3001\u518d\u89c1") == (
        "\u4f60\u597d. \u4e16\u754c, \u518d\u89c1"
    )


def test_normalize_rejects_non_string():
    with pytest.raises(TextError, match="string"):
        normalize_text(None)


def test_split_basic_keeps_punctuation():
    assert split_sentences("Hello there. How are you? Great!  Bye") == [
        "Hello there.", "How are you?", "Great!", "Bye",
    ]


def test_split_abbreviations_and_decimals():
    text = (
        "Mr. Smith paid 3.14 dollars to Mrs. Jones. Dr. Who met St. John, e.g. at noon, "
        "i.e. late. It was 2 vs. 3. We saw apples, pears, etc. and more. Bye."
    )
    assert split_sentences(text) == [
        "Mr. Smith paid 3.14 dollars to Mrs. Jones.",
        "Dr. Who met St. John, e.g. at noon, i.e. late.",
        "It was 2 vs. 3.",
        "We saw apples, pears, etc. and more.",
        "Bye.",
    ]


def test_split_etc_ends_a_sentence_before_a_capital():
    assert split_sentences("Bring pens, paper, etc. Then sit.") == ["Bring pens, paper, etc.", "Then sit."]


def test_split_closing_quotes_stay_with_their_sentence():
    assert split_sentences('He said "Stop!" Then left. (It ended.) Next...') == [
        'He said "Stop!"', "Then left.", "(It ended.)", "Next...",
    ]


def test_split_long_sentence_at_clauses_then_commas_then_words():
    text = "one two three, four five six; seven eight nine: ten eleven twelve, thirteen."
    pieces = split_sentences(text, max_chars=20)
    assert pieces == ["one two three,", "four five six;", "seven eight nine:", "ten eleven twelve,", "thirteen."]
    words = " ".join(["word"] * 200)
    pieces = split_sentences(words, max_chars=50)
    assert all(len(p) <= 50 for p in pieces) and " ".join(pieces) == words


def test_split_semicolon_only_when_too_long():
    assert split_sentences("a; b: c.", max_chars=300) == ["a; b: c."]


def test_split_hard_cuts_a_word_longer_than_max_chars():
    assert split_sentences("x" * 25, max_chars=10) == ["x" * 10, "x" * 10, "x" * 5]


def test_split_errors():
    with pytest.raises(TextError, match="text is empty"):
        split_sentences("  \n ")
    with pytest.raises(TextError, match="max_chars"):
        split_sentences("hi", max_chars=0)


_ALPHABET = st.sampled_from(list("abcXYZ019 .!?;:,\"')(\n\t") + ["Mr.", "e.g.", "3.14", " etc. ", "\u00e9"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=120).map("".join), st.integers(min_value=1, max_value=40))
def test_split_property_no_loss_and_bounded(text, max_chars):
    if not text.strip():
        return
    pieces = split_sentences(text, max_chars=max_chars)
    assert "".join("".join(pieces).split()) == "".join(text.split())
    for piece in pieces:
        assert piece and piece == piece.strip() and len(piece) <= max_chars


@pytest.mark.slow  # a property test over many inputs
@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.integers(min_value=1, max_value=300))
def test_split_property_arbitrary_unicode(text, max_chars):
    if not text.strip():
        return
    pieces = split_sentences(text, max_chars=max_chars)
    assert "".join("".join(pieces).split()) == "".join(text.split())
    assert all(0 < len(p) <= max_chars for p in pieces)
