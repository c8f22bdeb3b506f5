"""WER text normalization and the WER/CER/similarity arithmetic, on known strings."""
import math

import numpy as np
import pytest

from vall_e.errors import DataError
from vall_e.eval.metrics import aggregate, cosine, edit_counts, similarities
from vall_e.eval.normalize import normalize_text, numbers_to_words

pytest.importorskip("jiwer")


@pytest.mark.parametrize("text, expected", [
    ("42", "forty two"),
    ("0", "zero"),
    ("999999", "nine hundred ninety nine thousand nine hundred ninety nine"),
    ("1,200 people", "one thousand two hundred people"),
    ("2.5 m", "two point five m"),
    ("the 21st", "the twenty first"),
    ("$3.50", "three dollars fifty cents"),
    ("50%", "fifty percent"),
])
def test_numbers_become_words(text, expected):
    assert normalize_text(text) == expected


def test_case_punctuation_and_spelling():
    assert normalize_text('Hello, World! "Don\'t" -- stop.') == "hello world don't stop"
    assert normalize_text("The Colour of the Theatre") == "the color of the theater"
    assert normalize_text("Mr. Smith") == "mister smith"
    assert normalize_text("forty-two") == normalize_text("42")
    assert normalize_text("A wolf weighs 30 lbs.") == normalize_text("A wolf weighs thirty pounds.")
    assert normalize_text("It went 60 mph") == "it went sixty miles per hour"
    assert numbers_to_words("no digits") == "no digits"


def test_wer_cer_known_strings():
    exact = edit_counts("The cat sat.", "the cat sat")
    assert exact["wer"] == 0 and exact["cer"] == 0
    one_sub = edit_counts("the cat sat on the mat", "the cat sat on the hat")
    assert one_sub["word_errors"] == 1 and one_sub["words"] == 6
    assert math.isclose(one_sub["wer"], 1 / 6)
    assert one_sub["char_errors"] == 1 and one_sub["chars"] == len("thecatsatonthemat")
    empty = edit_counts("two words", "")  # nothing heard: every word deleted
    assert empty["wer"] == 1.0 and empty["cer"] == 1.0
    numbers = edit_counts("I have 3 apples", "i have three apples")
    assert numbers["wer"] == 0
    with pytest.raises(DataError):
        edit_counts("?!", "anything")


def test_cosine_and_margin():
    assert cosine(np.array([1.0, 0]), np.array([2.0, 0])) == pytest.approx(1.0)
    assert cosine(np.array([1.0, 0]), np.array([0, 3.0])) == pytest.approx(0.0)
    assert cosine(np.zeros(3), np.ones(3)) == 0.0
    sims = similarities(np.array([1.0, 0]), np.array([1.0, 1.0]), [np.array([0, 1.0]), np.array([-1.0, 0])])
    assert sims["sim_own"] == pytest.approx(math.sqrt(0.5))
    assert sims["sim_others"] == pytest.approx(-0.5)
    assert sims["margin"] == pytest.approx(math.sqrt(0.5) + 0.5)
    alone = similarities(np.ones(2), np.ones(2), [])
    assert alone["sim_others"] is None and alone["margin"] is None


def test_aggregate_is_corpus_level():
    rows = [
        {"word_errors": 1, "words": 2, "char_errors": 1, "chars": 10, "sim_own": 0.8,
         "sim_others": 0.4, "margin": 0.4, "audio_seconds": 1.0, "synthesis_seconds": 0.5, "ar_steps": 75},
        {"word_errors": 0, "words": 8, "char_errors": 0, "chars": 30, "sim_own": 0.6,
         "sim_others": None, "margin": None, "audio_seconds": 3.0, "synthesis_seconds": 1.5, "ar_steps": 225},
    ]
    agg = aggregate(rows)
    assert agg["wer"] == pytest.approx(0.1)  # 1 error in 10 words, not mean(0.5, 0)
    assert agg["cer"] == pytest.approx(1 / 40)
    assert agg["sim_own"] == pytest.approx(0.7) and agg["sim_others"] == pytest.approx(0.4)
    assert agg["rtf"] == pytest.approx(0.5) and agg["ar_steps_per_audio_second"] == pytest.approx(75)
    assert agg["items"] == 2 and agg["failed"] == 0
