"""Train the aligner on prepared shards, and measure it against the teacher durations.

``train_aligner(data_dir, out_dir)`` needs no durations (the forward-sum loss is
unsupervised); where the shards carry teacher durations, held-out items measure the result:
``boundary_error_ms`` is the mean absolute distance, in milliseconds, between the aligner's
phoneme boundaries and the teacher's, with and without the calibrated shift. ``calibrate_shift`` picks the aligner's
``boundary_shift`` on training items with teacher durations (never the held-out ones it is
then measured on).
"""
from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence

from vall_e.align.model import (
    Aligner, AlignerConfig, forward_sum_loss, save_aligner, shift_boundaries,
)
from vall_e.data.shards import Utterance, load_prepared
from vall_e.errors import DataError
from vall_e.text.tokenizer import PhonemeTokenizer
from vall_e.training.dataset import split_train_val

VOCAB_FILE = "vocab.json"
CALIBRATION_ITEMS = 200  # training utterances the boundary shift is chosen on


def _batch(items: list[Utterance], tokenizer: PhonemeTokenizer):
    text = [torch.tensor(tokenizer.encode(u.phonemes)) for u in items]
    codes = [torch.from_numpy(np.asarray(u.codes, np.int64)).T for u in items]  # [T, K]
    return (pad_sequence(text, batch_first=True), pad_sequence(codes, batch_first=True).transpose(1, 2),
            torch.tensor([len(t) for t in text]), torch.tensor([c.shape[0] for c in codes]))


def _timed_pairs(aligner: Aligner, tokenizer: PhonemeTokenizer, items: list[Utterance]):
    """(unshifted aligner durations, teacher durations) of every item the teacher timed."""
    pairs = []
    for utt in items:
        if utt.durations is None:
            continue
        ids = torch.tensor(tokenizer.encode(utt.phonemes))
        raw = aligner.raw_durations(ids, torch.from_numpy(np.asarray(utt.codes, np.int64)))
        pairs.append((raw, np.asarray(utt.durations)))
    return pairs


def _mean_boundary_error(pairs, shift: int) -> float:
    """Mean |aligner boundary - teacher boundary| in frames over every inner boundary."""
    errors = [np.abs(np.cumsum(shift_boundaries(raw, shift))[:-1] - np.cumsum(teacher)[:-1])
              for raw, teacher in pairs]
    return float(np.concatenate(errors).mean())


def boundary_error_ms(aligner: Aligner, tokenizer: PhonemeTokenizer, items: list[Utterance],
                      frame_rate: float) -> tuple[float, float]:
    """Mean |aligner boundary - teacher boundary| over every inner boundary of ``items``, in
    ms: (with the aligner's calibrated shift, without it), from one pass of the aligner."""
    pairs = _timed_pairs(aligner, tokenizer, items)
    if not pairs:
        raise DataError("no held-out utterance has teacher durations to measure the aligner against")
    shifted, unshifted = (_mean_boundary_error(pairs, shift) * 1000.0 / frame_rate
                          for shift in (aligner.config.boundary_shift, 0))
    return shifted, unshifted


def calibrate_shift(aligner: Aligner, tokenizer: PhonemeTokenizer, items: list[Utterance],
                    largest: int = 4) -> int:
    """The whole-frame shift in [-largest, largest] that brings the aligner's inner boundaries
    nearest the teacher's over ``items`` (those with teacher durations)."""
    pairs = _timed_pairs(aligner, tokenizer, items)
    if not pairs:
        raise DataError("no utterance has teacher durations to calibrate the aligner's shift on")
    errors = {shift: _mean_boundary_error(pairs, shift) for shift in range(-largest, largest + 1)}
    return min(errors, key=lambda shift: (errors[shift], abs(shift)))


VAL_FRACTION = 0.03  # the held-out share training measures on (a deterministic split by id)


def aligner_split(data_dir: str | Path, val_fraction: float = VAL_FRACTION):
    """(codec info, training utterances, held-out utterances) of ``data_dir`` as the aligner's
    training splits them: the same items every time, so a later calibration or measurement
    can keep to the training side or the held-out side."""
    info, utterances = load_prepared(data_dir)
    usable = [u for u in utterances if u.n_frames >= len(u.phonemes) + 2]
    if not usable:
        raise DataError(f"{data_dir}: no utterance the aligner can use (each needs a frame "
                        "per phoneme)")
    train, val = split_train_val(usable, val_fraction)
    return info, train, val


def train_aligner(data_dir: str | Path, out_dir: str | Path, *, steps: int = 1500,
                  batch_size: int = 16, learning_rate: float = 2e-3, seed: int = 0,
                  val_fraction: float = VAL_FRACTION, eval_every: int = 500, log=print) -> dict:
    """Train on every utterance of ``data_dir`` (but a held-out share); returns the report."""
    info, train, val = aligner_split(data_dir, val_fraction)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    tokenizer = PhonemeTokenizer.from_phoneme_lists(u.phonemes for u in train + val)
    aligner = Aligner(AlignerConfig(len(tokenizer), info.n_levels, info.codebook_size))
    optimizer = torch.optim.Adam(aligner.parameters(), lr=learning_rate)
    out_dir = Path(out_dir)
    history, start = [], time.perf_counter()
    for step in range(1, steps + 1):
        aligner.train()
        text, codes, n_text, n_frames = _batch(rng.sample(train, min(batch_size, len(train))), tokenizer)
        loss = forward_sum_loss(aligner.log_attention(text, codes, n_text, n_frames), n_text, n_frames)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(aligner.parameters(), 1.0)
        optimizer.step()
        if step % eval_every == 0 or step == steps:
            aligner.eval()
            row = {"step": step, "loss": round(float(loss.detach()), 4),
                   "minutes": round((time.perf_counter() - start) / 60, 2)}
            calibrated = step == steps and any(u.durations is not None for u in train)
            if calibrated:
                # the shift is chosen on training items, so the held-out error stays honest
                aligner.config.boundary_shift = calibrate_shift(aligner, tokenizer,
                                                                train[:CALIBRATION_ITEMS])
                row["boundary_shift"] = aligner.config.boundary_shift
            if any(u.durations is not None for u in val):
                shifted, unshifted = boundary_error_ms(aligner, tokenizer, val, info.frame_rate)
                row["boundary_error_ms"] = round(shifted, 2)
                if calibrated:
                    row["boundary_error_ms_unshifted"] = round(unshifted, 2)
            history.append(row)
            log(row)
            save_aligner(aligner, out_dir)
            tokenizer.save(out_dir / VOCAB_FILE)
    return {"history": history, "val_items": len(val), "train_items": len(train)}
