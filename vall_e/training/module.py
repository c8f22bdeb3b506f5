"""The LightningModule that trains the AR+NAR model on tts (and optionally stt).

Each training step scores three losses on the same batch and logs them separately:
the AR loss (level 0 + STOP), the NAR loss (one random level k >= 1 per item; in training on
a share ``train.nar_probability`` of the steps), and, with
probability ``data.stt_probability`` when the model has the stt task, the STT loss. With
``model.guided_attention`` > 0 the AR pass also scores the guided heads' diagonal prior.
The module stores no hyperparameter objects, so Lightning's resume checkpoint holds only
tensors and plain values and loads with ``weights_only=True``.
"""
from __future__ import annotations

import random

import lightning as L
import torch

from vall_e.config import Config
from vall_e.errors import ConfigError
from vall_e.models.ar_nar import ARNARModel
from vall_e.models.guided_attention import AttentionProbe
from vall_e.training.schedule import warmup_cosine


class ARNARLightning(L.LightningModule):
    def __init__(self, model: ARNARModel, config: Config):
        super().__init__()
        self.model = model
        self.config = config
        self.level_rng = random.Random(config.train.seed)

    def _losses(self, batch: dict, stage: str) -> torch.Tensor:
        model = self.model
        text, codes, prompt = batch["text"], batch["codes"], batch["prompt"]
        size = len(text)
        probe = self._attention_probe()
        durations = batch.get("durations")
        ar_loss, ar_acc = model.ar_loss(text, prompt, codes, probe=probe, durations=durations)
        total = ar_loss
        metrics = {"ar_loss": ar_loss, "ar_acc": ar_acc, **model.last_ar_metrics}
        if probe is not None:
            guided = probe.loss()
            total = total + self.config.model.guided_attention * guided
            metrics["guided_attention"] = guided
        if model.n_levels > 1 and (
            stage == "val" or self.level_rng.random() < self.config.train.nar_probability
        ):
            if stage == "val":  # fixed levels so validation numbers are comparable over time
                levels = [1 + i % (model.n_levels - 1) for i in range(size)]
            else:
                levels = [self.level_rng.randint(1, model.n_levels - 1) for _ in range(size)]
            nar_loss, nar_acc = model.nar_loss(text, prompt, codes, levels, durations=durations)
            total = total + nar_loss
            metrics.update(nar_loss=nar_loss, nar_acc=nar_acc)
        if model.stt_head is not None and (
            stage == "val" or self.level_rng.random() < self.config.data.stt_probability
        ):
            stt_loss, stt_acc = model.stt_loss(codes, text)
            total = total + stt_loss
            metrics.update(stt_loss=stt_loss, stt_acc=stt_acc)
        metrics["loss"] = total
        for name, value in metrics.items():
            self.log(
                f"{stage}/{name}",
                value,
                batch_size=size,
                prog_bar=name in ("loss", "ar_acc"),
                on_step=stage == "train",
                on_epoch=stage == "val",
            )
        return total

    def _attention_probe(self) -> AttentionProbe | None:
        cfg = self.config.model
        if cfg.guided_attention <= 0:
            return None
        return AttentionProbe(tuple(cfg.guided_attention_layers), cfg.guided_attention_heads,
                              cfg.guided_attention_sigma)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        return self._losses(batch, "train")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._losses(batch, "val")

    def configure_optimizers(self):
        return make_optimizer(self.model, self.config)


def freeze_all_but(model: torch.nn.Module, names: list[str]) -> None:
    """``train.trainable``: only parameters named by, or under, one of ``names`` keep training."""
    def wanted(name: str) -> bool:
        return any(name == n or name.startswith(n + ".") for n in names)

    kept = [name for name, _ in model.named_parameters() if wanted(name)]
    if not kept:
        raise ConfigError(f"train.trainable {names} names no parameter of this model; names look "
                          f"like {', '.join(n for n, _ in list(model.named_parameters())[:3])}")
    for name, param in model.named_parameters():
        param.requires_grad_(param.requires_grad and wanted(name))


def make_optimizer(model: torch.nn.Module, config: Config) -> dict:
    """AdamW (no decay on norms, biases and embeddings) with warm-up + cosine, per step."""
    train = config.train
    if train.trainable is not None:
        freeze_all_but(model, train.trainable)
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        # norms and embeddings are not weight-decayed (standard for transformers)
        (no_decay if param.ndim < 2 or "embed" in name else decay).append(param)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": train.weight_decay},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=train.learning_rate,
        betas=(0.9, 0.95),
    )
    scheduler = warmup_cosine(optimizer, train.warmup_steps, train.max_steps)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

