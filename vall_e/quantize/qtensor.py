"""Group-wise weight quantization arithmetic: float [N, K] <-> integers + per-group scales.

A weight matrix is cut, row by row, into groups of ``group_size`` consecutive input columns
(``group_size`` 0 = the whole row, one scale per output channel). Each group is stored as
small integers plus its scale, so the error of any weight is at most half a step of its own
group (an outlier only coarsens the 32..128 weights that share its group, not the matrix):

- 8 bits, symmetric:  w ~= q * scale,              q in [-127, 127] (int8)
- 4 bits, asymmetric: w ~= (q - 8) * scale + zero, q in [0, 15], two per byte (uint8)

Scales and zeros are stored in bfloat16 because the CPU kernels consume them in bfloat16:
the integers are chosen *after* rounding the scale, so dequantizing with the stored scale is
exactly what the kernel computes. ``zero`` is the value of the middle code 8 (torch's int4
kernel convention), so no conversion is needed at load.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

SCALE_DTYPE = torch.bfloat16
INT4_MID = 8  # the code whose value is ``zero``


@dataclass
class QuantizedWeight:
    qweight: torch.Tensor  # int8 [N, K] or uint8 [N, K // 2] (int4, packed)
    scales: torch.Tensor  # [N, K // group] bfloat16
    zeros: torch.Tensor | None  # [N, K // group] bfloat16 (int4 only)
    bits: int
    group_size: int  # resolved: a divisor of K (never 0)

    @property
    def shape(self) -> tuple[int, int]:
        n = self.qweight.shape[0]
        k = self.qweight.shape[1] * (2 if self.bits == 4 else 1)
        return n, k


def resolve_group_size(group_size: int, in_features: int) -> int:
    """0 means one group per row; otherwise the size must divide ``in_features``."""
    size = in_features if group_size == 0 else group_size
    if size <= 0 or in_features % size:
        raise ValueError(f"group size {group_size} does not divide the {in_features} input "
                         "features; choose a divisor (or 0 for one group per row)")
    return size


def quantize_weight(weight: torch.Tensor, bits: int, group_size: int) -> QuantizedWeight:
    """Quantize a float [N, K] matrix group-wise (see the module docstring for the formats)."""
    if weight.dim() != 2:
        raise ValueError(f"expected a 2-D weight, got shape {list(weight.shape)}")
    n, k = weight.shape
    size = resolve_group_size(group_size, k)
    if bits == 4 and k % 2:
        raise ValueError(f"int4 packs two weights per byte: in_features {k} must be even")
    groups = weight.detach().float().reshape(n, k // size, size)
    if bits == 8:
        scales = (groups.abs().amax(-1) / 127).clamp(min=1e-12).to(SCALE_DTYPE)
        q = torch.round(groups / scales.float()[..., None]).clamp(-127, 127).to(torch.int8)
        return QuantizedWeight(q.reshape(n, k), scales, None, 8, size)
    if bits != 4:
        raise ValueError(f"bits must be 8 or 4, got {bits}")
    low, high = groups.amin(-1), groups.amax(-1)
    scales = ((high - low) / 15).clamp(min=1e-12).to(SCALE_DTYPE)
    zeros = (low + INT4_MID * scales.float()).to(SCALE_DTYPE)
    codes = torch.round((groups - zeros.float()[..., None]) / scales.float()[..., None]) + INT4_MID
    codes = codes.clamp(0, 15).to(torch.uint8).reshape(n, k)
    return QuantizedWeight(pack_int4(codes), scales, zeros, 4, size)


def pack_int4(codes: torch.Tensor) -> torch.Tensor:
    """uint8 codes [N, K] in [0, 15] -> [N, K // 2]; column 2j in the low nibble, 2j+1 high."""
    codes = codes.to(torch.uint8)
    return codes[:, 0::2] | (codes[:, 1::2] << 4)


def unpack_int4(packed: torch.Tensor) -> torch.Tensor:
    """Inverse of ``pack_int4``: [N, K // 2] uint8 -> codes [N, K] uint8."""
    low, high = packed & 0x0F, packed >> 4
    return torch.stack([low, high], dim=-1).reshape(packed.shape[0], -1)


def integer_codes(q: QuantizedWeight) -> torch.Tensor:
    """The integers of every weight, [N, K] (int4: unpacked, still offset by 8)."""
    return unpack_int4(q.qweight) if q.bits == 4 else q.qweight


def dequantize(q: QuantizedWeight, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The float matrix [N, K] the quantized weight stands for."""
    n, k = q.shape
    codes = integer_codes(q).float().reshape(n, k // q.group_size, q.group_size)
    scales = q.scales.float()[..., None]
    if q.bits == 8:
        values = codes * scales
    else:
        values = (codes - INT4_MID) * scales + q.zeros.float()[..., None]
    return values.reshape(n, k).to(dtype)


def max_error(q: QuantizedWeight) -> torch.Tensor:
    """Per-group bound on |w - dequantize(q)| [N, K // group].

    Half a step, plus what rounding the stored scale and zero to bfloat16 (relative error
    <= 2^-8) can cost at the ends of the range: 127 (int8) or 15 (int4) steps of scale error,
    and the zero's own rounding.
    """
    scales = q.scales.float()
    if q.bits == 8:
        return scales * (0.5 + 127 * 2.0 ** -8)
    return scales * (0.5 + 15 * 2.0 ** -8) + q.zeros.float().abs() * 2.0 ** -8
