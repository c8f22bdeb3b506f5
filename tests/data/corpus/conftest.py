"""Small recipes and a fake teacher, so most corpus tests run without any teacher package."""
from __future__ import annotations

import numpy as np
import pytest

from vall_e.data.corpus import CorpusRecipe

SMALL = {
    "seed": 5,
    "sentences": {"pool_size": 300, "train": 40, "heldout": 6, "min_phone_count": 2,
                  "max_words": 12},
    "speakers": {"kokoro_bases": ["jm_kumo", "jf_alpha"], "train_blends": 3,
                 "heldout_blends": 2, "piper_joe": True},
    "items": {"per_train_speaker": 5, "eval_seen_readings": 2, "per_heldout_speaker": 3},
}


@pytest.fixture
def small_recipe() -> CorpusRecipe:
    return CorpusRecipe.from_dict(SMALL)


class FakeTeacher:
    """A tone whose length follows the text: enough for the runner, no model needed."""

    def __init__(self, fail_on: str | None = None):
        self.calls: list[str] = []
        self.fail_on = fail_on

    def synthesize(self, text: str, settings: dict) -> np.ndarray:
        self.calls.append(text)
        if self.fail_on is not None and self.fail_on in text:
            raise ValueError("cannot say this")
        t = np.arange(int(24000 * 0.02 * len(text))) / 24000
        return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


@pytest.fixture
def fake_teachers():
    teacher = FakeTeacher()
    return {"kokoro": teacher, "piper": teacher}
