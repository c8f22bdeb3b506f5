import re

import pytest

from vall_e.data.corpus.sentences import generate_sentences
from vall_e.text import numbers as num


def test_same_seed_same_sentences_other_seed_other_sentences():
    assert generate_sentences(200, seed=1) == generate_sentences(200, seed=1)
    assert generate_sentences(200, seed=1) != generate_sentences(200, seed=2)
    # A longer request extends a shorter one: the stream does not depend on n.
    assert generate_sentences(300, seed=1)[:200] == generate_sentences(200, seed=1)


def test_sentences_are_varied_and_written_out():
    sentences = generate_sentences(1000, seed=0, max_words=20)
    assert len({s.lower() for s in sentences}) == 1000
    lengths = [len(s.split()) for s in sentences]
    assert max(lengths) <= 20 and min(lengths) <= 4 and max(lengths) >= 15
    ends = {s[-1] for s in sentences}
    assert ends == {".", "?", "!"}
    assert sum(s.endswith("?") for s in sentences) > 100
    assert not any(re.search(r"\d", s) for s in sentences)  # numbers are always words
    assert any("thousand" in s or "hundred" in s for s in sentences)
    assert all(s[0].isupper() for s in sentences)


def test_impossible_request_is_refused():
    with pytest.raises(ValueError, match="max_words"):
        generate_sentences(100, seed=0, max_words=1)


@pytest.mark.parametrize("n, words", [
    (0, "zero"), (13, "thirteen"), (40, "forty"), (42, "forty-two"), (100, "one hundred"),
    (342, "three hundred forty-two"), (7005, "seven thousand five"),
    (1_250_000, "one million two hundred fifty thousand"),
])
def test_cardinal(n, words):
    assert num.cardinal(n) == words


def test_ordinal_year_clock_money_digits():
    assert [num.ordinal(n) for n in (1, 2, 3, 12, 21, 40, 100)] == [
        "first", "second", "third", "twelfth", "twenty-first", "fortieth", "one hundredth"]
    assert num.year(1984) == "nineteen eighty-four" and num.year(1906) == "nineteen oh six"
    assert num.year(2000) == "two thousand" and num.year(1900) == "nineteen hundred"
    assert num.clock(7, 0) == "seven o'clock" and num.clock(9, 5) == "nine oh five"
    assert num.money(1, 0) == "one dollar" and num.money(0, 1) == "one cent"
    assert num.money(3, 20) == "three dollars and twenty cents"
    assert num.digits("507") == "five oh seven"
