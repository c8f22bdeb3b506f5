"""Train the aligner on prepared shards, and measure it against the teacher durations.

``train_aligner(data_dir, out_dir)`` needs no durations (the forward-sum loss is
unsupervised); where the shards carry teacher durations, held-out items measure the result:
``boundary_error_ms`` is the mean absolute distance, in milliseconds, between the aligner's
phoneme boundaries and the teacher's.
"""
from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence

from vall_e.align.model import Aligner, AlignerConfig, forward_sum_loss, save_aligner
from vall_e.data.shards import Utterance, load_prepared
from vall_e.errors import DataError
from vall_e.text.tokenizer import PhonemeTokenizer
from vall_e.training.dataset import split_train_val

VOCAB_FILE = "vocab.json"


def _batch(items: list[Utterance], tokenizer: PhonemeTokenizer):
    text = [torch.tensor(tokenizer.encode(u.phonemes)) for u in items]
    codes = [torch.from_numpy(np.asarray(u.codes, np.int64)).T for u in items]  # [T, K]
    return (pad_sequence(text, batch_first=True), pad_sequence(codes, batch_first=True).transpose(1, 2),
            torch.tensor([len(t) for t in text]), torch.tensor([c.shape[0] for c in codes]))


def boundary_error_ms(aligner: Aligner, tokenizer: PhonemeTokenizer, items: list[Utterance],
                      frame_rate: float) -> float:
    """Mean |aligner boundary - teacher boundary| over every inner boundary of ``items``."""
    errors = []
    for utt in items:
        if utt.durations is None:
            continue
        ids = torch.tensor(tokenizer.encode(utt.phonemes))
        predicted = aligner.durations(ids, torch.from_numpy(np.asarray(utt.codes, np.int64)))
        errors.append(np.abs(np.cumsum(predicted)[:-1] - np.cumsum(utt.durations)[:-1]))
    if not errors:
        raise DataError("no held-out utterance has teacher durations to measure the aligner against")
    return float(np.concatenate(errors).mean() * 1000.0 / frame_rate)


def train_aligner(data_dir: str | Path, out_dir: str | Path, *, steps: int = 1500,
                  batch_size: int = 16, learning_rate: float = 2e-3, seed: int = 0,
                  val_fraction: float = 0.03, eval_every: int = 500, log=print) -> dict:
    """Train on every utterance of ``data_dir`` (but a held-out share); returns the report."""
    info, utterances = load_prepared(data_dir)
    usable = [u for u in utterances if u.n_frames >= len(u.phonemes) + 2]
    if not usable:
        raise DataError(f"{data_dir}: no utterance to train the aligner on")
    torch.manual_seed(seed)
    rng = random.Random(seed)
    tokenizer = PhonemeTokenizer.from_phoneme_lists(u.phonemes for u in usable)
    train, val = split_train_val(usable, val_fraction)
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
            if any(u.durations is not None for u in val):
                row["boundary_error_ms"] = round(boundary_error_ms(aligner, tokenizer, val,
                                                                   info.frame_rate), 2)
            history.append(row)
            log(row)
            save_aligner(aligner, out_dir)
            tokenizer.save(out_dir / VOCAB_FILE)
    return {"history": history, "val_items": len(val), "train_items": len(train)}
