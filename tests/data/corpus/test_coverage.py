import pytest

from vall_e.data.corpus.coverage import (
    coverage_summary,
    phone_counts,
    select_for_coverage,
    sentence_phones,
)


def test_sentence_phones_drop_stress_spaces_and_punctuation():
    phones = sentence_phones("Hello, world!")
    assert phones == ["h", "ə", "l", "oʊ", "w", "ɜː", "l", "d"]


def test_greedy_phase_takes_the_rare_phones_first():
    pool = [["a", "b"]] * 8 + [["a", "z"], ["a", "b", "b"], ["z", "y"]]
    # Every sentence first gains 2 (tie -> lowest index 0); then only z and y are needed and
    # sentence 10 gives both. Nothing is left to fill at random.
    assert select_for_coverage(pool, 2, min_count=1, seed=0) == [0, 10]


def test_fill_is_seeded_and_distinct():
    pool = [["a"]] * 50
    first = select_for_coverage(pool, 20, min_count=0, seed=3)
    assert first == select_for_coverage(pool, 20, min_count=0, seed=3)
    assert first != select_for_coverage(pool, 20, min_count=0, seed=4)
    assert len(set(first)) == 20


def test_selection_beats_random_on_rare_phones():
    pool = [["a"] * 5] * 95 + [["a", "q"]] * 5
    picked = select_for_coverage(pool, 10, min_count=3, seed=0)
    assert phone_counts(pool[i] for i in picked)["q"] >= 3


def test_too_many_requested_is_refused():
    with pytest.raises(ValueError, match="pool of 2"):
        select_for_coverage([["a"], ["b"]], 3, min_count=1, seed=0)


def test_coverage_summary_reports_missing_and_rarest():
    summary = coverage_summary(phone_counts([["a", "a", "b"]]), ["a", "b", "c"])
    assert summary["covered"] == 2 and summary["inventory_size"] == 3
    assert summary["missing"] == ["c"] and summary["min_count"] == 0
    assert summary["counts"] == {"a": 2, "b": 1, "c": 0}
