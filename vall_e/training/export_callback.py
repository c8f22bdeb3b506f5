"""A Lightning callback that writes vall_e checkpoint directories while training runs.

Every ``every_n_steps`` (and at the end) it writes ``<output>/checkpoints/step-NNNNNNN`` and
refreshes ``<output>/latest`` — both atomically, in the inference format (config + safetensors +
vocab, or the LLM-TTS format), so the newest model can be used for synthesis while training goes on.
Resuming the optimiser is Lightning's job (``last.ckpt``); this callback only exports.
"""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import lightning as L


def _step_of(directory: Path) -> int:
    try:
        return int(directory.name.removeprefix("step-"))
    except ValueError:  # a stray name: never treated as a multiple, so pruned as before
        return -1


class ExportCheckpoint(L.Callback):
    def __init__(
        self,
        output_dir: Path,
        save: Callable[[Path, L.LightningModule, int], None],
        every_n_steps: int,
        keep_last: int = 3,
        keep_every: int = 0,
    ):
        """``save(directory, module, step)`` writes one inference checkpoint (atomically). Only
        the newest ``keep_last`` step directories stay, plus every multiple of ``keep_every``
        (when > 0), so a long run keeps a record of its progress without filling the disk."""
        self.output_dir = Path(output_dir)
        self.save = save
        self.every_n_steps = every_n_steps
        self.keep_last = keep_last
        self.keep_every = keep_every
        self.last_exported = -1

    def export(self, trainer: L.Trainer, module: L.LightningModule) -> Path | None:
        step = trainer.global_step
        if step == self.last_exported or not trainer.is_global_zero:
            return None
        self.last_exported = step
        path = self.output_dir / "checkpoints" / f"step-{step:07d}"
        self.save(path, module, step)
        self.save(self.output_dir / "latest", module, step)
        self._prune()
        return path

    def _prune(self) -> None:
        steps = sorted((self.output_dir / "checkpoints").glob("step-*"))
        for old in steps[: max(0, len(steps) - self.keep_last)]:
            if self.keep_every and _step_of(old) >= 0 and _step_of(old) % self.keep_every == 0:
                continue
            shutil.rmtree(old, ignore_errors=True)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if trainer.global_step > 0 and trainer.global_step % self.every_n_steps == 0:
            self.export(trainer, module)

    def on_train_end(self, trainer, module) -> None:
        self.export(trainer, module)
