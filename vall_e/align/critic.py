"""The phoneme critic: how much each generated frame sounds like the phoneme it was meant for.

A durations model decides every frame's phoneme before it draws a single code, so a level-0
candidate can be checked against that plan: a small convolutional classifier, trained on the
prepared shards (codec codes and teacher durations), gives log p(phoneme | level-0 codes
around frame t), and a candidate's score is the mean over phonemes of the mean over each
phoneme's frames. ``--candidates N`` (``vall_e.inference.shared_prefix_decode``) draws N
level-0 candidates and keeps the best-scored one before the NAR; nothing here listens to
audio or needs any weights but the critic's own.
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from vall_e.errors import ConfigError, DataError
from vall_e.module_files import save_module

CRITIC_DIR = "critic"  # where a model package keeps its critic
CONFIG_FILE = "critic.json"
WEIGHTS_FILE = "critic.safetensors"
VOCAB_FILE = "vocab.json"


@dataclass
class CriticConfig:
    n_text_tokens: int
    codebook_size: int = 1024
    d_model: int = 192
    kernel: int = 5
    dilations: tuple[int, ...] = (1, 2, 4, 8, 1)
    dropout: float = 0.0
    # training only: this share of input codes is replaced by random ones, so the critic sees
    # frames that do not quite match their phoneme, as a generated candidate's may not
    code_noise: float = 0.0


class PhonemeCritic(nn.Module):
    """Level-0 codes [B, T] -> log p(text token | frame) [B, T, n_text_tokens]."""

    def __init__(self, config: CriticConfig):
        super().__init__()
        self.config = config
        d = config.d_model
        self.embedding = nn.Embedding(config.codebook_size, d)
        self.convs = nn.ModuleList(nn.Conv1d(d, d, config.kernel, dilation=k,
                                             padding=k * (config.kernel // 2))
                                   for k in config.dilations)
        self.norms = nn.ModuleList(nn.LayerNorm(d) for _ in config.dilations)
        self.dropout = nn.Dropout(config.dropout)
        self.out = nn.Linear(d, config.n_text_tokens)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        if self.training and self.config.code_noise > 0:
            noisy = torch.rand(codes.shape, device=codes.device) < self.config.code_noise
            codes = torch.where(noisy, torch.randint_like(codes, self.config.codebook_size), codes)
        x = self.embedding(codes)
        for conv, norm in zip(self.convs, self.norms):
            x = x + self.dropout(F.gelu(conv(norm(x).transpose(1, 2))).transpose(1, 2))
        return F.log_softmax(self.out(x), dim=-1)

    @torch.no_grad()
    def score(self, level0: torch.Tensor, text: torch.Tensor, durations: torch.Tensor) -> float:
        """How well level-0 codes [T] voice text ids [N] at ``durations`` [N] (sum T): the mean
        over positions of each position's mean log-probability over its own frames."""
        if int(durations.sum()) != level0.shape[0]:
            raise ValueError(f"durations sum to {int(durations.sum())} frames, the codes have "
                             f"{level0.shape[0]}")
        log_probs = self(level0[None].long())[0]  # [T, V]
        labels = torch.repeat_interleave(text, durations)
        per_frame = log_probs.gather(1, labels[:, None])[:, 0]
        owner = torch.repeat_interleave(torch.arange(len(text), device=text.device), durations)
        per_position = torch.zeros(len(text), device=level0.device).index_add_(0, owner, per_frame)
        return float((per_position / durations.clamp(min=1)).mean())


def save_critic(critic: PhonemeCritic, directory: str | Path, vocab: list[str],
                dtype: torch.dtype | None = None) -> Path:
    """Write the critic; ``dtype`` stores its weights in another float type (a package keeps
    bfloat16; loading copies them back into float32 parameters)."""
    directory = save_module(critic, critic.config, directory, WEIGHTS_FILE, CONFIG_FILE, dtype)
    (directory / VOCAB_FILE).write_text(json.dumps(vocab, ensure_ascii=False) + "\n")
    return directory


def load_critic(directory: str | Path, vocab: list[str] | None = None) -> PhonemeCritic:
    """The critic in ``directory``; with ``vocab`` (the TTS model's text tokens, in id order)
    it must have been trained on the same ids, or its scores would judge the wrong phonemes."""
    directory = Path(directory)
    try:
        raw = json.loads((directory / CONFIG_FILE).read_text())
        raw["dilations"] = tuple(raw.get("dilations", CriticConfig.dilations))
        critic = PhonemeCritic(CriticConfig(**raw))
        critic.load_state_dict(load_file(directory / WEIGHTS_FILE))
        own_vocab = json.loads((directory / VOCAB_FILE).read_text())
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        raise ConfigError(f"{directory}: not a phoneme critic directory "
                          f"({' '.join(str(exc).split())}); train one with "
                          "python -m vall_e.align critic --model MODEL --data SHARDS --out DIR") from None
    if vocab is not None and list(vocab) != list(own_vocab):
        raise ConfigError(f"{directory}: the critic was trained on another text vocabulary than "
                          "the model's; train it again against this model (python -m vall_e.align critic)")
    return critic.eval()


def _frame_labels(utterance, encode) -> tuple[torch.Tensor, torch.Tensor] | None:
    ids = torch.tensor(encode(utterance.phonemes), dtype=torch.long)
    if utterance.durations is None or len(utterance.durations) != len(ids):
        return None
    durations = torch.from_numpy(np.asarray(utterance.durations, np.int64))
    codes = torch.from_numpy(np.asarray(utterance.codes[0], np.int64))
    return codes, torch.repeat_interleave(ids, durations)


def frame_accuracy(critic: PhonemeCritic, items: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    """Share of frames whose most likely token is the one the durations give them."""
    right = total = 0
    with torch.no_grad():
        for codes, labels in items:
            right += int((critic(codes[None])[0].argmax(-1) == labels).sum())
            total += len(labels)
    return right / max(total, 1)


def train_critic(data_dir: str | Path, out_dir: str | Path, tokenizer, *, steps: int = 1200,
                 batch_size: int = 24, learning_rate: float = 2e-3, seed: int = 0,
                 val_items: int = 60, eval_every: int = 300, dropout: float = 0.1,
                 code_noise: float = 0.1, log=print) -> dict:
    """Train on the timed utterances of ``data_dir`` with ``tokenizer``'s ids (the TTS model's:
    ``encode(phonemes, add_bos_eos=True)`` must line up with the shards' durations)."""
    from vall_e.data.shards import load_prepared

    info, utterances = load_prepared(data_dir)
    encode = lambda phonemes: tokenizer.encode(phonemes, add_bos_eos=True)  # noqa: E731
    pairs = [p for p in (_frame_labels(u, encode) for u in utterances) if p is not None]
    if len(pairs) <= val_items:
        raise DataError(f"{data_dir}: {len(pairs)} utterances with durations; the critic needs "
                        f"more than {val_items} (prepare shards with teacher or aligner durations)")
    rng = random.Random(seed)
    torch.manual_seed(seed)
    rng.shuffle(pairs)
    val, train = pairs[:val_items], pairs[val_items:]
    vocab = list(tokenizer.vocab)
    critic = PhonemeCritic(CriticConfig(len(tokenizer), info.codebook_size, dropout=dropout,
                                        code_noise=code_noise))
    optimizer = torch.optim.AdamW(critic.parameters(), lr=learning_rate, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, learning_rate, total_steps=steps,
                                                   pct_start=0.1)
    history, start = [], time.perf_counter()
    for step in range(1, steps + 1):
        critic.train()
        batch = rng.sample(train, min(batch_size, len(train)))
        codes = pad_sequence([c for c, _ in batch], batch_first=True)
        labels = pad_sequence([lab for _, lab in batch], batch_first=True, padding_value=-100)
        loss = F.nll_loss(critic(codes).transpose(1, 2), labels, ignore_index=-100)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(critic.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step % eval_every == 0 or step == steps:
            critic.eval()
            row = {"step": step, "loss": round(float(loss.detach()), 4),
                   "val_frame_accuracy": round(frame_accuracy(critic, val), 4),
                   "minutes": round((time.perf_counter() - start) / 60, 2)}
            history.append(row)
            log(row)
            save_critic(critic, out_dir, vocab)
    return {"history": history, "val_items": len(val), "train_items": len(train)}
