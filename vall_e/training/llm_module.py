"""The LightningModule that trains an LLM-TTS model: next-token loss on the speech ids.

Logged as ``train/loss``, ``train/acc`` (speech-token accuracy) and the same under ``val/``.
Like ``ARNARLightning`` it keeps no hyperparameter objects, so Lightning's resume checkpoint
holds only tensors and plain values (``weights_only=True`` loads it).
"""
from __future__ import annotations

import lightning as L
import torch

from vall_e.config import Config
from vall_e.models.llm_tts import LLMTTSModel
from vall_e.training.module import make_optimizer


class LLMTTSLightning(L.LightningModule):
    def __init__(self, model: LLMTTSModel, config: Config):
        super().__init__()
        self.model = model
        self.config = config

    def _loss(self, batch: dict, stage: str) -> torch.Tensor:
        loss, accuracy = self.model.loss(batch["input_ids"], batch["attention_mask"],
                                         batch["speech_mask"], self.config.model.text_loss_weight)
        size = batch["input_ids"].shape[0]
        for name, value in (("loss", loss), ("acc", accuracy)):
            self.log(f"{stage}/{name}", value, batch_size=size, prog_bar=True,
                     on_step=stage == "train", on_epoch=stage == "val")
        return loss

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        return self._loss(batch, "train")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._loss(batch, "val")

    def configure_optimizers(self):
        return make_optimizer(self.model, self.config)
