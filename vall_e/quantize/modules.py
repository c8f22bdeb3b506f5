"""Quantized drop-in modules: ``QuantLinear`` (weight-only int8/int4), ``DynamicInt8Linear``
(torch.ao dynamic int8) and ``QuantEmbedding``.

The persistent buffers (``qweight``, ``scales``, ``zeros``) are the on-disk format of
``qtensor.py``; what a kernel needs is derived from them at the first call and cached, never
saved. On CPU the weight-only layers run torch's own weight-only kernels:

- int8 with one scale per row and a multiple of 16 input features:
  ``aten._weight_int8pack_mm`` (bfloat16 activations);
- int4 with groups of 32/64/128/256: ``aten._weight_int4pack_mm_for_cpu`` (bfloat16
  activations, weights repacked once by ``aten._convert_weight_to_int4pack_for_cpu``).

Anything else (finer int8 groups, another device, group sizes the kernel refuses) falls back
to dequantize-then-matmul: correct, but slower than the float layer it replaces. Activations
go through bfloat16 on the kernel paths; the output comes back in the input's dtype.
"""
from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from vall_e.quantize.qtensor import (
    INT4_MID,
    SCALE_DTYPE,
    QuantizedWeight,
    dequantize,
    quantize_weight,
    unpack_int4,
)

INT4_KERNEL_GROUPS = (32, 64, 128, 256)  # what _weight_int4pack_mm_for_cpu accepts


class _QuantBase(nn.Module):
    """Holds one group-quantized [N, K] matrix as buffers; subclasses decide how to use it."""

    def __init__(self, out_features: int, in_features: int, bits: int, group_size: int):
        super().__init__()
        if bits not in (4, 8):
            raise ValueError(f"bits must be 8 or 4, got {bits}")
        self.out_features, self.in_features = out_features, in_features
        self.bits, self.group_size = bits, group_size
        groups = in_features // group_size
        packed = in_features // 2 if bits == 4 else in_features
        qdtype = torch.uint8 if bits == 4 else torch.int8
        self.register_buffer("qweight", torch.zeros(out_features, packed, dtype=qdtype))
        self.register_buffer("scales", torch.ones(out_features, groups, dtype=SCALE_DTYPE))
        zeros = torch.zeros(out_features, groups, dtype=SCALE_DTYPE) if bits == 4 else None
        self.register_buffer("zeros", zeros)
        self._kernel = None  # derived tensors for the fast path, rebuilt after .to()

    def load_quantized(self, q: QuantizedWeight) -> "_QuantBase":
        self.qweight.copy_(q.qweight)
        self.scales.copy_(q.scales)
        if q.zeros is not None:
            self.zeros.copy_(q.zeros)
        self._kernel = None
        return self

    def quantized(self) -> QuantizedWeight:
        return QuantizedWeight(self.qweight, self.scales.to(SCALE_DTYPE),
                               None if self.zeros is None else self.zeros.to(SCALE_DTYPE),
                               self.bits, self.group_size)

    def dequantized_weight(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return dequantize(self.quantized(), dtype)

    def _apply(self, fn, recurse=True):
        self._kernel = None  # device/dtype changed: derived tensors are stale
        return super()._apply(fn, recurse)

    def kernel_bytes(self) -> int:
        """Bytes held by the derived kernel tensors (beyond the buffers)."""
        if not isinstance(self._kernel, tuple):
            return 0
        return sum(t.numel() * t.element_size() for t in self._kernel if torch.is_tensor(t))


class QuantLinear(_QuantBase):
    """``nn.Linear`` without bias whose weight is stored group-quantized (weight-only)."""

    @classmethod
    def from_linear(cls, linear: nn.Linear, bits: int, group_size: int) -> "QuantLinear":
        if linear.bias is not None:
            raise ValueError("QuantLinear has no bias; every Linear of our models is bias-free")
        q = quantize_weight(linear.weight, bits, group_size)
        module = cls(linear.out_features, linear.in_features, bits, q.group_size)
        return module.load_quantized(q).to(linear.weight.device)

    @property
    def fast_path(self) -> str:
        """Which computation ``forward`` uses on the current device."""
        if self.qweight.device.type != "cpu":
            return "dequantize"
        # the int8 kernel reads K in blocks of 16 and returns garbage (or crashes) otherwise
        if self.bits == 8 and self.group_size == self.in_features and self.in_features % 16 == 0:
            return "int8pack"
        if self.bits == 4 and self.group_size in INT4_KERNEL_GROUPS:
            return "int4pack"
        return "dequantize"

    def _prepare(self):
        path = self.fast_path
        if path == "int8pack":
            self._kernel = (path, self.scales[:, 0].to(torch.bfloat16).contiguous())
        elif path == "int4pack":
            codes = unpack_int4(self.qweight).to(torch.int32)
            # the kernel needs N to be a multiple of 16: pad with rows of code 8 (value
            # ``zero`` = 0), and cut the padded outputs off after the matmul
            pad = -self.out_features % 16
            if pad:
                codes = F.pad(codes, (0, 0, 0, pad), value=INT4_MID)
            packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(codes.contiguous(), 1)
            scales = F.pad(self.scales.to(torch.bfloat16), (0, 0, 0, pad), value=1.0)
            zeros = F.pad(self.zeros.to(torch.bfloat16), (0, 0, 0, pad), value=0.0)
            # kernel layout: [K // group, N, 2] with (scale, zero) pairs
            scales_zeros = torch.stack([scales.t(), zeros.t()], dim=-1).contiguous()
            self._kernel = (path, packed, scales_zeros)
        else:
            self._kernel = (path,)
        return self._kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel = self._kernel or self._prepare()
        shape = x.shape[:-1]
        flat = x.reshape(-1, self.in_features)
        if kernel[0] == "int8pack":
            y = torch.ops.aten._weight_int8pack_mm(flat.to(torch.bfloat16), self.qweight, kernel[1])
        elif kernel[0] == "int4pack":
            y = torch.ops.aten._weight_int4pack_mm_for_cpu(
                flat.to(torch.bfloat16), kernel[1], self.group_size, kernel[2])
            y = y[:, : self.out_features]
        else:
            y = flat @ self.dequantized_weight(x.dtype).t()
        return y.to(x.dtype).reshape(*shape, self.out_features)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bits={self.bits}, group_size={self.group_size}")


class DynamicInt8Linear(_QuantBase):
    """int8 weights (one scale per row) run through ``torch.ao``'s dynamic quantized Linear:
    activations are quantized to int8 on the fly, per call (fbgemm on x86)."""

    def __init__(self, out_features: int, in_features: int, bits: int = 8, group_size: int = 0):
        if bits != 8 or group_size not in (0, in_features):
            raise ValueError("dynamic quantization is int8 with one scale per output row")
        super().__init__(out_features, in_features, 8, in_features)

    @classmethod
    def from_linear(cls, linear: nn.Linear, bits: int = 8, group_size: int = 0) -> "DynamicInt8Linear":
        q = quantize_weight(linear.weight, 8, 0)
        return cls(linear.out_features, linear.in_features).load_quantized(q).to(linear.weight.device)

    def _prepare(self):
        with warnings.catch_warnings():
            # torch.ao's eager quantization is marked deprecated in favour of torchao, which is
            # not a dependency here; it still works in the pinned torch and is what was asked
            warnings.simplefilter("ignore")
            from torch.ao.nn.quantized.dynamic import Linear as AOLinear

            weight = torch._make_per_channel_quantized_tensor(
                self.qweight.cpu(), self.scales[:, 0].double().cpu(),
                torch.zeros(self.out_features, dtype=torch.long), 0)
            layer = AOLinear(self.in_features, self.out_features, bias_=False, dtype=torch.qint8)
            layer.set_weight_bias(weight, None)
        self._kernel = ("ao", layer)
        return self._kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel = self._kernel or self._prepare()
        return kernel[1](x.float().cpu()).to(device=x.device, dtype=x.dtype)

    def kernel_bytes(self) -> int:
        # the packed fbgemm weight is opaque; it holds about one byte per weight
        return self.out_features * self.in_features if self._kernel else 0


class QuantEmbedding(_QuantBase):
    """``nn.Embedding`` whose table is stored group-quantized; a lookup dequantizes only the
    rows it reads, so the float table never exists in memory."""

    def __init__(self, num_embeddings: int, embedding_dim: int, bits: int, group_size: int):
        super().__init__(num_embeddings, embedding_dim, bits, group_size)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        # an empty float buffer that follows .to(dtype): the dtype lookups are returned in
        self.register_buffer("dtype_probe", torch.zeros(0), persistent=False)

    @classmethod
    def from_embedding(cls, embedding: nn.Embedding, bits: int, group_size: int) -> "QuantEmbedding":
        q = quantize_weight(embedding.weight, bits, group_size)
        module = cls(embedding.num_embeddings, embedding.embedding_dim, bits, q.group_size)
        module.dtype_probe = module.dtype_probe.to(embedding.weight.dtype)
        return module.load_quantized(q).to(embedding.weight.device)

    @property
    def weight(self) -> torch.Tensor:
        """The whole table, dequantized: for callers that read ``.weight`` (its device, a
        one-off lookup); lookups through ``forward`` never build it."""
        return self.dequantized_weight(self.dtype_probe.dtype)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        flat = ids.reshape(-1)
        rows = QuantizedWeight(self.qweight[flat], self.scales[flat].to(SCALE_DTYPE),
                               None if self.zeros is None else self.zeros[flat].to(SCALE_DTYPE),
                               self.bits, self.group_size)
        values = dequantize(rows, self.dtype_probe.dtype)
        return values.reshape(*ids.shape, self.embedding_dim)

    def extra_repr(self) -> str:
        return (f"{self.num_embeddings}, {self.embedding_dim}, bits={self.bits}, "
                f"group_size={self.group_size}")
