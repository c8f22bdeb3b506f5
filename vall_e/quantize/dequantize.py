"""``dequantize_model``: turn a quantized model back into an ordinary float ``nn.Module``.

Training needs float weights: peft only wraps ``nn.Linear`` / ``nn.Embedding``, and the int8
buffers of ``QuantLinear`` carry no gradient. The embedded default model ships int8 and is, on
a fresh machine, the only copy of its training run, so fine-tuning it (``vall_e.finetune``),
starting a run from it (``train.init_from``) or attaching an adapter trained on it all go
through this: each quantized layer becomes the float layer whose weight is exactly its
dequantized values, so the float model computes what the quantized one does up to the
kernels' bfloat16 activations.
"""
from __future__ import annotations

import logging

import torch
from torch import nn

from vall_e.quantize.convert import set_module
from vall_e.quantize.modules import DynamicInt8Linear, QuantEmbedding, QuantLinear, _QuantBase

log = logging.getLogger(__name__)


def _float_module(module: _QuantBase, dtype: torch.dtype) -> nn.Module:
    weight = module.dequantized_weight(dtype)
    if isinstance(module, QuantEmbedding):
        layer = nn.Embedding(module.num_embeddings, module.embedding_dim, dtype=dtype,
                             device=weight.device)
    elif isinstance(module, (QuantLinear, DynamicInt8Linear)):
        layer = nn.Linear(module.in_features, module.out_features, bias=False, dtype=dtype,
                          device=weight.device)
    else:  # a new quantized kind must say how it dequantizes
        raise TypeError(f"no float counterpart for {type(module).__name__}")
    with torch.no_grad():
        layer.weight.copy_(weight)
    return layer


def quantized_module_names(model: nn.Module) -> list[str]:
    return [name for name, module in model.named_modules() if isinstance(module, _QuantBase)]


def dequantize_model(model: nn.Module, dtype: torch.dtype = torch.float32) -> int:
    """Replace every quantized layer of ``model`` in place by its float layer; returns how
    many were replaced (0: the model was already float). A head that was tied to an
    embedding stays untied: quantized, it already was a tensor of its own."""
    names = quantized_module_names(model)
    for name in names:
        set_module(model, name, _float_module(model.get_submodule(name), dtype))
    if names:
        log.info("dequantized %d layers to %s for training", len(names), dtype)
    return len(names)
