"""The learning-rate schedule shared by the model and codec trainers.

``warmup_cosine(optimizer, warmup, total)`` is a LambdaLR whose shape comes from the config on
every start. A plain LambdaLR restores its lambda's attributes from the checkpoint, so a run
resumed with a longer ``train.max_steps`` kept decaying over the old length and then sat at the
floor: the default model's steps 6,000-8,500 ran at 10% of the peak rate although the YAML said
the cosine ran to 12,000.
"""
from __future__ import annotations

import math

import torch


class WarmupCosine:
    """Linear warm-up to the peak rate, then cosine decay to 10% of it at ``total`` steps."""

    def __init__(self, warmup: int, total: int):
        self.warmup = max(0, warmup)
        self.total = max(total, self.warmup + 1)

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        progress = min(1.0, (step - self.warmup) / (self.total - self.warmup))
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))


class ConfiguredLambdaLR(torch.optim.lr_scheduler.LambdaLR):
    """LambdaLR that resumes its step count but keeps the schedule it was built with."""

    def load_state_dict(self, state_dict: dict) -> None:
        # LambdaLR skips a lambda whose saved state is None
        state_dict = {**state_dict, "lr_lambdas": [None] * len(self.lr_lambdas)}
        super().load_state_dict(state_dict)


def warmup_cosine(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> ConfiguredLambdaLR:
    return ConfiguredLambdaLR(optimizer, WarmupCosine(warmup, total))
