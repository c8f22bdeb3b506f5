"""Training sequences for LLM-TTS: each utterance laid out as one id sequence by the layout.

The acoustic prompt (flat layout) is a crop of another utterance by the same speaker, chosen
exactly as for the AR+NAR family (``TTSDataset.prompt_codes``). The collate function
right-pads a batch and marks which targets are speech (scored with weight 1) and which are
prompt or text (scored with ``model.text_loss_weight``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vall_e.data.shards import Utterance
from vall_e.text.front_end import training_units
from vall_e.training.dataset import TTSDataset


@dataclass
class SequenceExample:
    ids: torch.Tensor  # [L]
    prefix: int  # leading ids that are prompt and text (not speech)


def sequence_length(utt: Utterance, layout, prompt_frames: int) -> int:
    """Upper bound of the ids ``LLMTTSDataset`` makes for ``utt`` (prompt at its longest)."""
    frames = utt.codes.shape[1] + prompt_frames
    return frames * layout.tokens_per_frame + 2 * len(utt.text) + len(utt.phonemes) + 16


class LLMTTSDataset(TTSDataset):
    def __init__(self, utterances: list[Utterance], layout, prompt_frames: int, seed: int = 0,
                 deterministic: bool = False):
        super().__init__(utterances, tokenizer=None, prompt_frames=prompt_frames, seed=seed,
                         deterministic=deterministic)
        self.layout = layout

    def __getitem__(self, index: int) -> SequenceExample:
        utt = self.utterances[index]
        prompt = self.prompt_codes(index, self._rng(index))
        codes = torch.from_numpy(np.asarray(utt.codes, dtype=np.int64))
        units = training_units(utt.text, utt.phonemes, self.layout.text_units)
        ids, prefix = self.layout.training_ids(units, utt.speaker, prompt, codes)
        return SequenceExample(torch.tensor(ids, dtype=torch.long), prefix)


class SequenceCollator:
    """Right-pads a batch: input_ids, attention_mask, speech_mask (all [B, T])."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, examples: list[SequenceExample]) -> dict:
        longest = max(len(e.ids) for e in examples)
        ids = torch.full((len(examples), longest), self.pad_id, dtype=torch.long)
        attention = torch.zeros(len(examples), longest, dtype=torch.long)
        speech = torch.zeros(len(examples), longest, dtype=torch.bool)
        for row, example in enumerate(examples):
            n = len(example.ids)
            ids[row, :n] = example.ids
            attention[row, :n] = 1
            speech[row, example.prefix:n] = True
        return {"input_ids": ids, "attention_mask": attention, "speech_mask": speech}
