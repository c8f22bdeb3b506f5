"""Training examples from prepared utterances: text ids, target codes, and an acoustic prompt.

The prompt of an example is a random crop (at most ``prompt_seconds``) of *another* utterance by
the same speaker, as in VALL-E, so the model learns to copy the voice rather than the content.
A speaker with a single utterance falls back to a crop of the same utterance.
With a ``warper`` (``data.voice_warp_probability``), some examples are spoken in a warped voice:
target, partner and prompt alike (``vall_e.training.voice_warp``).
The validation split is chosen by a hash of the utterance id, so it is stable across runs and
across resumes.

Concatenation (``concat_probability`` > 0, training only): an example may be two utterances of
the same speaker read back to back, text after text and codes after codes. On a small corpus a
model can recognise each training sentence from its phonemes and recall its audio whole; pairs
it has never seen together cannot be recalled, only read left to right, which is the alignment
it has to learn (and the combinations grow quadratically with the corpus).
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
    durations: torch.Tensor | None = None  # [L] frames per text position (sum T), if known


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
        concat_probability: float = 0.0,
        max_frames: int | None = None,
        warper=None,
        min_prompt_frames: int | None = None,
    ):
        self.utterances = utterances
        self.tokenizer = tokenizer
        self.prompt_frames = max(1, prompt_frames)
        # each prompt's length drawn from [min_prompt_frames, prompt_frames]; validation keeps
        # the full length so its losses stay comparable
        self.min_prompt_frames = (None if deterministic or min_prompt_frames is None
                                  else min(max(1, min_prompt_frames), self.prompt_frames))
        self.seed = seed
        self.deterministic = deterministic  # validation: the same prompt every time
        if not 0.0 <= concat_probability <= 1.0:
            raise ValueError(f"concat_probability must be in [0, 1], got {concat_probability}")
        self.concat_probability = 0.0 if deterministic else concat_probability
        self.max_frames = max_frames  # a pair may not be longer (None: no limit)
        # vall_e.training.voice_warp.VoiceWarper: some examples spoken in a warped voice
        self.warper = None if deterministic else warper
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

    def prompt_codes(self, index: int, rng: random.Random, exclude: tuple = (),
                     warp: float | None = None) -> torch.Tensor:
        """A random crop (<= prompt_frames; with ``min_prompt_frames`` its length drawn between
        the two) of another utterance by the same speaker (neither
        ``index`` nor any in ``exclude``, while the speaker has one), in the voice warped by
        ``warp`` when given."""
        utt = self.utterances[index]
        others = [i for i in self.by_speaker[utt.speaker] if i != index and i not in exclude] or [index]
        source = self._raw_codes(rng.choice(others), warp)
        longest = (self.prompt_frames if self.min_prompt_frames is None
                   else rng.randint(self.min_prompt_frames, self.prompt_frames))
        length = min(longest, source.shape[1])
        start = rng.randint(0, source.shape[1] - length)
        return torch.from_numpy(np.asarray(source[:, start : start + length], dtype=np.int64))

    def text_ids(self, index: int) -> torch.Tensor:
        if index not in self._text_cache:
            ids = self.tokenizer.encode(self.utterances[index].phonemes, add_bos_eos=True)
            self._text_cache[index] = torch.tensor(ids, dtype=torch.long)
        return self._text_cache[index]

    def _raw_codes(self, index: int, warp: float | None = None) -> np.ndarray:
        codes = self.utterances[index].codes
        return codes if warp is None else self.warper.codes(index, codes, warp)

    def codes(self, index: int, warp: float | None = None) -> torch.Tensor:
        return torch.from_numpy(np.asarray(self._raw_codes(index, warp), dtype=np.int64))

    def durations(self, index: int) -> torch.Tensor | None:
        found = self.utterances[index].durations
        return None if found is None else torch.from_numpy(np.asarray(found, dtype=np.int64))

    def concat_partner(self, index: int, rng: random.Random) -> int | None:
        """Another utterance of the same speaker that fits beside ``index``, or None."""
        frames = self.utterances[index].codes.shape[1]
        limit = self.max_frames if self.max_frames is not None else float("inf")
        fits = [i for i in self.by_speaker[self.utterances[index].speaker]
                if i != index and frames + self.utterances[i].codes.shape[1] <= limit]
        return rng.choice(fits) if fits else None

    def __getitem__(self, index: int) -> Example:
        utt = self.utterances[index]
        rng = self._rng(index)
        warp = self.warper.draw(rng) if self.warper is not None else None
        text, codes, durations = self.text_ids(index), self.codes(index, warp), self.durations(index)
        partner = None
        if self.concat_probability > 0 and rng.random() < self.concat_probability:
            partner = self.concat_partner(index, rng)
        if partner is not None:  # one <bos> ... <eos> around both: drop the seam's eos and bos
            text = torch.cat([text[:-1], self.text_ids(partner)[1:]])
            codes = torch.cat([codes, self.codes(partner, warp)], dim=1)
            durations = join_durations(durations, self.durations(partner))
        return Example(
            text=text,
            codes=codes,
            prompt=self.prompt_codes(index, rng, exclude=(partner,) if partner is not None else (),
                                     warp=warp),
            speaker=utt.speaker,
            durations=durations,
        )


def join_durations(first: torch.Tensor | None, second: torch.Tensor | None) -> torch.Tensor | None:
    """Durations of two utterances read back to back with the seam's eos and bos dropped: the
    silence between them (first's eos + second's bos) joins first's last token (its final
    punctuation, a pause)."""
    if first is None or second is None:
        return None
    seam = (first[-2] + first[-1] + second[0]).reshape(1)
    return torch.cat([first[:-2], seam, second[1:]])


def collate(examples: list[Example]) -> dict:
    """Keep variable lengths as lists: the model packs and pads its own sequences."""
    return {
        "text": [e.text for e in examples],
        "codes": [e.codes for e in examples],
        "prompt": [e.prompt for e in examples],
        "speaker": [e.speaker for e in examples],
        "durations": [e.durations for e in examples],
    }
