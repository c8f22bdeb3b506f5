"""Training examples from prepared utterances: text ids, target codes, and an acoustic prompt.

The prompt of an example is a random crop (at most ``prompt_seconds``) of *another* utterance by
the same speaker, as in VALL-E, so the model learns to copy the voice rather than the content.
A speaker with a single utterance falls back to a crop of the same utterance.
The validation split is chosen by a hash of the utterance id, so it is stable across runs and
across resumes.
"""
from __future__ import annotations

import random
import zlib
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from vall_e.data.shards import Utterance
from vall_e.text.tokenizer import PhonemeTokenizer


@dataclass
class Example:
    text: torch.Tensor  # [L] phoneme ids with bos/eos
    codes: torch.Tensor  # [K, T]
    prompt: torch.Tensor  # [K, Tp]
    speaker: str


def split_train_val(utterances: list[Utterance], val_fraction: float) -> tuple[list, list]:
    """Deterministic split by hash of the id; keeps at least one example on each side."""
    def in_val(u: Utterance) -> bool:
        return (zlib.crc32(u.id.encode()) % 10_000) / 10_000 < val_fraction

    val = [u for u in utterances if in_val(u)]
    train = [u for u in utterances if not in_val(u)]
    if not val and len(train) > 1:
        val, train = train[-1:], train[:-1]
    if not train:
        raise ValueError("no training utterances left after the validation split")
    return train, val


class TTSDataset(Dataset):
    def __init__(
        self,
        utterances: list[Utterance],
        tokenizer: PhonemeTokenizer,
        prompt_frames: int,
        seed: int = 0,
        deterministic: bool = False,
    ):
        self.utterances = utterances
        self.tokenizer = tokenizer
        self.prompt_frames = max(1, prompt_frames)
        self.seed = seed
        self.deterministic = deterministic  # validation: the same prompt every time
        self.by_speaker: dict[str, list[int]] = defaultdict(list)
        for index, utt in enumerate(utterances):
            self.by_speaker[utt.speaker].append(index)
        self._text_cache: dict[int, torch.Tensor] = {}
        self._calls = 0

    def __len__(self) -> int:
        return len(self.utterances)

    def _rng(self, index: int) -> random.Random:
        if self.deterministic:
            return random.Random(self.seed * 1_000_003 + index)
        self._calls += 1
        return random.Random(hash((self.seed, index, self._calls, torch.initial_seed())))

    def prompt_codes(self, index: int, rng: random.Random) -> torch.Tensor:
        """A random crop (<= prompt_frames) of another utterance by the same speaker."""
        utt = self.utterances[index]
        others = [i for i in self.by_speaker[utt.speaker] if i != index] or [index]
        source = self.utterances[rng.choice(others)].codes
        length = min(self.prompt_frames, source.shape[1])
        start = rng.randint(0, source.shape[1] - length)
        return torch.from_numpy(np.asarray(source[:, start : start + length], dtype=np.int64))

    def __getitem__(self, index: int) -> Example:
        utt = self.utterances[index]
        rng = self._rng(index)
        if index not in self._text_cache:
            ids = self.tokenizer.encode(utt.phonemes, add_bos_eos=True)
            self._text_cache[index] = torch.tensor(ids, dtype=torch.long)
        return Example(
            text=self._text_cache[index],
            codes=torch.from_numpy(np.asarray(utt.codes, dtype=np.int64)),
            prompt=self.prompt_codes(index, rng),
            speaker=utt.speaker,
        )


def collate(examples: list[Example]) -> dict:
    """Keep variable lengths as lists: the model packs and pads its own sequences."""
    return {
        "text": [e.text for e in examples],
        "codes": [e.codes for e in examples],
        "prompt": [e.prompt for e in examples],
        "speaker": [e.speaker for e in examples],
    }
