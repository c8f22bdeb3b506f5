"""How much does an AR+NAR checkpoint take from its voice prompt? Teacher-forced losses with
each item's own speaker's prompt and with another speaker's.

The gap is the nats per frame the right voice is worth. On voices the model trained on it
can be large because the model recognises them; on held-out voices (prepared shards of
recordings it never saw) the own-prompt loss itself says how well it predicts a new voice
from a few seconds of it, the number a change meant for cloning (more voices, voice-warp
augmentation) should lower:

    python scripts/voice_reliance.py --model CKPT [--model CKPT2 ...] --data DIR --all
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from vall_e.training.dataset import Example


@dataclass(frozen=True)
class VoiceReliance:
    items: int
    level0_loss: float  # with each item's own speaker's prompt
    level0_loss_other_voice: float  # with another speaker's prompt
    nar_loss: float
    nar_loss_other_voice: float

    @property
    def level0_gap(self) -> float:
        """Nats per frame the right voice is worth to level 0 (> 0: the model uses the prompt)."""
        return self.level0_loss_other_voice - self.level0_loss

    @property
    def nar_gap(self) -> float:
        return self.nar_loss_other_voice - self.nar_loss


def other_speaker_prompts(examples: list[Example]) -> list[torch.Tensor]:
    """For each example, the prompt of the next example (cyclically) by another speaker."""
    if len({e.speaker for e in examples}) < 2:
        raise ValueError("voice reliance needs examples of at least 2 speakers (one's prompt is "
                         "the other's foil)")
    out = []
    for index, example in enumerate(examples):
        step = 1
        while examples[(index + step) % len(examples)].speaker == example.speaker:
            step += 1
        out.append(examples[(index + step) % len(examples)].prompt)
    return out


def _level0_loss(model, examples: list[Example], prompts: list) -> float:
    durations = [e.durations for e in examples]
    loss, _ = model.ar_loss([e.text for e in examples], prompts, [e.codes for e in examples],
                            durations=None if any(d is None for d in durations) else durations)
    metrics = getattr(model, "last_ar_metrics", None) or {}
    # aligned models add their duration head's loss: only level 0's part is about the voice
    return float(metrics.get("level0_loss", loss))


def _nar_loss(model, examples: list[Example], prompts: list) -> float:
    levels = [1 + i % (model.n_levels - 1) for i in range(len(examples))]  # every level scored
    durations = [e.durations for e in examples]
    return float(model.nar_loss([e.text for e in examples], prompts, [e.codes for e in examples],
                                levels, durations=None if any(d is None for d in durations)
                                else durations)[0])


@torch.no_grad()
def measure_voice_reliance(model, examples: list[Example], batch_size: int = 16,
                           seed: int = 0) -> VoiceReliance:
    """Level-0 and NAR losses over ``examples``, with their own prompts and with another
    speaker's (``other_speaker_prompts``); the random masks of masked prediction are drawn
    from ``seed`` the same way for both, so the two sides differ only in the prompt."""
    own = [e.prompt for e in examples]
    other = other_speaker_prompts(examples)
    was_training = model.training
    model.eval()
    sums = {"l0": 0.0, "l0x": 0.0, "nar": 0.0, "narx": 0.0}
    try:
        with torch.random.fork_rng(devices=[]):
            for start in range(0, len(examples), batch_size):
                chunk = examples[start:start + batch_size]
                for key, prompts, score in (("l0", own, _level0_loss), ("l0x", other, _level0_loss),
                                            ("nar", own, _nar_loss), ("narx", other, _nar_loss)):
                    if key.startswith("nar") and model.n_levels < 2:
                        continue
                    torch.manual_seed(seed + start)
                    sums[key] += score(model, chunk, prompts[start:start + batch_size]) * len(chunk)
    finally:
        model.train(was_training)
    n = len(examples)
    nan = float("nan")
    return VoiceReliance(n, sums["l0"] / n, sums["l0x"] / n,
                         sums["nar"] / n if model.n_levels > 1 else nan,
                         sums["narx"] / n if model.n_levels > 1 else nan)
