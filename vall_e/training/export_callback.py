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


class ExportCheckpoint(L.Callback):
    def __init__(
        self,
        output_dir: Path,
        save: Callable[[Path, L.LightningModule, int], None],
        every_n_steps: int,
        keep_last: int = 3,
    ):
        """``save(directory, module, step)`` writes one inference checkpoint (atomically)."""
        self.output_dir = Path(output_dir)
        self.save = save
        self.every_n_steps = every_n_steps
        self.keep_last = keep_last
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
            shutil.rmtree(old, ignore_errors=True)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if trainer.global_step > 0 and trainer.global_step % self.every_n_steps == 0:
            self.export(trainer, module)

    def on_train_end(self, trainer, module) -> None:
        self.export(trainer, module)
