"""Does an AR+NAR checkpoint read its text yet? Teacher-forced losses with the right phonemes
and with another utterance's.

A VALL-E style AR first learns what speech sounds like (the prompt and the previous frames
predict the next frame well) and only later how to follow the text: the moment the loss with
the right phonemes drops clearly below the loss with someone else's is when the model starts
to align, long before its output becomes intelligible. The gap is that signal in one number:

    python scripts/text_reliance.py --model runs/default/checkpoints/step-0002000 --data runs/default-data
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from vall_e.models.guided_attention import AttentionProbe, per_head_alignment
from vall_e.training.dataset import Example


@dataclass(frozen=True)
class TextReliance:
    items: int
    ar_loss: float  # with each item's own phonemes
    ar_loss_other_text: float  # with the next item's phonemes (a derangement: none keeps its own)
    ar_accuracy: float
    ar_accuracy_other_text: float
    nar_loss: float
    nar_loss_other_text: float

    @property
    def ar_gap(self) -> float:
        """Nats the right text is worth to the AR per frame (> 0: the model reads the text)."""
        return self.ar_loss_other_text - self.ar_loss

    @property
    def nar_gap(self) -> float:
        return self.nar_loss_other_text - self.nar_loss


def rotated(items: list) -> list:
    """Each item paired with the next one's value (the last with the first): no fixed points
    as long as the values differ."""
    return items[1:] + items[:1]


@torch.no_grad()
def measure_text_reliance(model, examples: list[Example]) -> TextReliance:
    """Teacher-forced AR and NAR losses over ``examples`` (one batch), with the right and with
    rotated phonemes; the NAR scores levels 1..K-1 in turn so every level is represented."""
    if len(examples) < 2:
        raise ValueError("text reliance needs at least 2 examples (one's text is the other's foil)")
    was_training = model.training
    model.eval()
    try:
        text = [e.text for e in examples]
        prompt = [e.prompt for e in examples]
        codes = [e.codes for e in examples]
        other = rotated(text)
        ar, ar_acc = model.ar_loss(text, prompt, codes)
        ar_other, ar_other_acc = model.ar_loss(other, prompt, codes)
        nar = nar_other = float("nan")
        if model.n_levels > 1:
            levels = [1 + i % (model.n_levels - 1) for i in range(len(examples))]
            nar = float(model.nar_loss(text, prompt, codes, levels)[0])
            nar_other = float(model.nar_loss(other, prompt, codes, levels)[0])
    finally:
        model.train(was_training)
    return TextReliance(len(examples), float(ar), float(ar_other), float(ar_acc),
                        float(ar_other_acc), nar, nar_other)


@torch.no_grad()
def teacher_forced_level0(model, example: Example) -> torch.Tensor:
    """The AR's most likely level-0 code for every frame of ``example``, each given the true
    frames before it (STOP excluded): what the AR says when its history is never its own.
    Decoded and transcribed, it separates what the AR knows of the text from what it loses
    to its own errors when free-running (exposure bias). Returns [T] codes."""
    was_training = model.training
    model.eval()
    try:
        (logits,) = model.ar_frame_logits([example.text], [example.prompt], [example.codes])
    finally:
        model.train(was_training)
    return logits[:, : model.codebook_size].argmax(-1)


@dataclass(frozen=True)
class HeadAlignment:
    layer: int
    head: int
    prior_loss: float  # -log of the attention mass near the diagonal (0 = reads in order)
    text_mass: float  # share of the head's attention that lands on the text at all


@torch.no_grad()
def measure_head_alignment(model, examples: list[Example], sigma: float = 0.2) -> list[HeadAlignment]:
    """How diagonally every AR head attends from the response frames to the phonemes.

    A head whose ``prior_loss`` is far below that of a uniform spread (~2 nats at sigma 0.2
    with a third of its mass on the text) reads the text in order; guided attention trains
    such heads on purpose (``model.guided_attention``).
    """
    was_training = model.training
    model.eval()
    n_heads = model.config.n_heads
    probe = AttentionProbe(tuple(range(len(model.blocks))), n_heads, sigma)
    try:
        model.ar_loss([e.text for e in examples], [e.prompt for e in examples],
                      [e.codes for e in examples], probe=probe)
    finally:
        model.train(was_training)
    rows = []
    for layer, logits in sorted(probe.logits.items()):
        losses, masses = per_head_alignment(logits, probe.spans, sigma, with_text_mass=True)
        rows += [HeadAlignment(layer, head, float(losses[head]), float(masses[head]))
                 for head in range(n_heads)]
    return rows
