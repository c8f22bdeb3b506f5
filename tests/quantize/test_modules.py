"""Quantized layers: each computation path (CPU kernels and the dequantize fallback) gives the
matmul with the dequantized weight; the shapes the kernels cannot take use the fallback."""
import pytest
import torch
from torch import nn

from vall_e.quantize.modules import DynamicInt8Linear, QuantEmbedding, QuantLinear


def _linear(out_features, in_features, seed=0):
    torch.manual_seed(seed)
    layer = nn.Linear(in_features, out_features, bias=False)
    nn.init.normal_(layer.weight, std=in_features ** -0.5)
    return layer


@pytest.mark.parametrize("bits,group,out_features,in_features,path", [
    (8, 0, 96, 64, "int8pack"),
    (4, 32, 96, 64, "int4pack"),
    (4, 32, 40, 64, "int4pack"),      # 40 rows: padded to 48 for the kernel, cut after
    (8, 0, 24, 40, "dequantize"),     # the int8 kernel reads K in blocks of 16
    (8, 16, 24, 64, "dequantize"),    # int8 with groups: no kernel
    (4, 16, 24, 64, "dequantize"),    # int4's kernel takes groups of 32..256
])
def test_every_path_computes_the_dequantized_matmul(bits, group, out_features, in_features, path):
    layer = _linear(out_features, in_features)
    q = QuantLinear.from_linear(layer, bits, group)
    assert q.fast_path == path
    x = torch.randn(3, 5, in_features)
    expected = x @ q.dequantized_weight().t()
    got = q(x)
    assert got.shape == (3, 5, out_features) and got.dtype == x.dtype
    # kernels read activations in bfloat16 (8 significant bits)
    tolerance = 2e-2 if path != "dequantize" else 1e-5
    assert (got - expected).norm() / expected.norm() < tolerance
    assert (got - layer(x)).norm() / layer(x).norm() < (0.02 if bits == 8 else 0.15)


def test_a_dtype_change_rebuilds_the_kernel_tensors():
    q = QuantLinear.from_linear(_linear(32, 64), 4, 32)
    x = torch.randn(2, 64)
    first = q(x)
    q.to(torch.bfloat16)
    assert q._kernel is None
    again = q(x.bfloat16())
    assert again.dtype == torch.bfloat16
    assert torch.allclose(again.float(), first, rtol=2e-2, atol=2e-2)


def test_dynamic_int8_is_close_to_the_float_layer():
    layer = _linear(48, 64)
    q = DynamicInt8Linear.from_linear(layer)
    x = torch.randn(4, 64)
    assert (q(x) - layer(x)).norm() / layer(x).norm() < 0.03
    with pytest.raises(ValueError, match="one scale per output row"):
        DynamicInt8Linear(48, 64, 8, 32)


@pytest.mark.parametrize("bits,group", [(8, 0), (4, 32)])
def test_quantized_embedding_returns_the_dequantized_rows(bits, group):
    torch.manual_seed(0)
    table = nn.Embedding(50, 64)
    q = QuantEmbedding.from_embedding(table, bits, group)
    ids = torch.tensor([[3, 49, 0], [7, 7, 1]])
    out = q(ids)
    assert out.shape == (2, 3, 64)
    assert torch.equal(out, q.weight[ids])
    assert (out - table(ids)).abs().max() < (0.05 if bits == 8 else 0.5)
    assert q.num_embeddings == 50 and q.embedding_dim == 64
