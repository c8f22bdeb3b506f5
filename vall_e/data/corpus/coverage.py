"""Phone coverage: which espeak-ng phones a set of sentences contains, and a greedy selection that
makes sure every phone of the candidate pool is read often enough.

A "phone" here is a ``vall_e.text.phonemize`` token with stress marks, word boundaries and
punctuation removed (``"ˈoʊ"`` counts as ``"oʊ"``): stress is a property of the syllable, not a
separate sound the model must learn to produce.
"""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from vall_e.text import phonemize
from vall_e.text.phonemize import PUNCTUATION, STRESS_MARKS, WORD_BOUNDARY

_NOT_PHONES = frozenset(STRESS_MARKS) | frozenset(PUNCTUATION) | {WORD_BOUNDARY}


def sentence_phones(text: str, language: str = "en-us") -> list[str]:
    """The phones of ``text`` in reading order (see the module docstring)."""
    return [token for token in phonemize(text, language) if token not in _NOT_PHONES]


def select_for_coverage(
    phones: Sequence[Sequence[str]], n: int, min_count: int, seed: int
) -> list[int]:
    """Pick ``n`` indices of ``phones``: greedy coverage first, then a seeded random fill.

    Phase 1 repeatedly takes the candidate that removes the most outstanding need, where the
    need of a phone is how far its count among the picked sentences is below ``min_count``
    (a sentence's gain is ``sum_p min(count_p, need_p)``; ties go to the lowest index). It stops
    when no phone needs more, when no candidate helps (a phone rarer than ``min_count`` in the
    whole pool), or at ``n``. Phase 2 fills up with a seeded random sample of the rest, so that
    apart from the guaranteed rare phones the corpus keeps the grammar's natural mix.
    Returns indices in pick order.
    """
    if n > len(phones):
        raise ValueError(f"cannot select {n} sentences from a pool of {len(phones)}")
    inventory = sorted({p for sentence in phones for p in sentence})
    column = {p: i for i, p in enumerate(inventory)}
    counts = np.zeros((len(phones), len(inventory)), dtype=np.int32)
    for row, sentence in enumerate(phones):
        for p in sentence:
            counts[row, column[p]] += 1
    need = np.full(len(inventory), min_count, dtype=np.int32)
    available = np.ones(len(phones), dtype=bool)
    chosen: list[int] = []
    while len(chosen) < n and need.any():
        gain = np.minimum(counts, need).sum(axis=1)
        gain[~available] = -1
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        chosen.append(best)
        available[best] = False
        need = np.maximum(need - counts[best], 0)
    rest = [int(i) for i in np.flatnonzero(available)]
    random.Random(seed).shuffle(rest)
    return chosen + rest[: n - len(chosen)]


def phone_counts(phone_lists: Iterable[Sequence[str]]) -> Counter:
    counts: Counter = Counter()
    for sentence in phone_lists:
        counts.update(sentence)
    return counts


def coverage_summary(counts: Counter, inventory: Iterable[str]) -> dict:
    """How well ``counts`` covers ``inventory``: covered/size, missing phones, the rarest phone."""
    inventory = sorted(set(inventory))
    covered = [p for p in inventory if counts.get(p, 0) > 0]
    rarest = min(inventory, key=lambda p: (counts.get(p, 0), p)) if inventory else None
    return {
        "covered": len(covered),
        "inventory_size": len(inventory),
        "missing": [p for p in inventory if counts.get(p, 0) == 0],
        "min_count": counts.get(rarest, 0) if rarest is not None else 0,
        "rarest_phone": rarest,
        # most frequent first, so the rare end of the list is easy to find in report.json
        "counts": {p: counts.get(p, 0)
                   for p in sorted(inventory, key=lambda p: (-counts.get(p, 0), p))},
    }
