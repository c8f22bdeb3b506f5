"""Group-wise quantization arithmetic: error bounds, packing, group sizes."""
import pytest
import torch

from vall_e.quantize.qtensor import (
    dequantize,
    integer_codes,
    max_error,
    pack_int4,
    quantize_weight,
    resolve_group_size,
    unpack_int4,
)


@pytest.mark.parametrize("bits,group", [(8, 0), (8, 16), (8, 64), (4, 32), (4, 64), (4, 0)])
def test_dequantized_weights_are_within_half_a_step_of_their_group(bits, group):
    torch.manual_seed(0)
    weight = torch.randn(48, 128) * torch.linspace(0.01, 3.0, 48)[:, None]  # rows of many scales
    weight[3, 7] = 25.0  # an outlier coarsens only its own group
    q = quantize_weight(weight, bits, group)
    error = (dequantize(q) - weight).abs().reshape(48, 128 // q.group_size, q.group_size)
    assert (error <= max_error(q)[..., None] + 1e-7).all()
    # the bound is tight: the worst error comes near half a step somewhere
    assert (error.amax(-1) / q.scales.float()).max() > 0.4
    relative = (dequantize(q) - weight).norm() / weight.norm()
    assert relative < (0.01 if bits == 8 else 0.12)


def test_an_outlier_only_coarsens_its_own_group():
    weight = torch.randn(4, 128) * 0.1
    plain = quantize_weight(weight, 4, 32)
    weight[0, 0] = 50.0
    spiked = quantize_weight(weight, 4, 32)
    assert torch.equal(spiked.scales[0, 1:], plain.scales[0, 1:])
    assert spiked.scales[0, 0] > 10 * plain.scales[0, 0]


def test_int8_codes_are_symmetric_and_int4_codes_fit_a_nibble():
    weight = torch.randn(8, 64)
    q8 = quantize_weight(weight, 8, 0)
    assert q8.qweight.dtype == torch.int8 and q8.qweight.abs().max() <= 127 and q8.zeros is None
    q4 = quantize_weight(weight, 4, 32)
    assert q4.qweight.dtype == torch.uint8 and q4.qweight.shape == (8, 32)
    codes = integer_codes(q4)
    assert codes.shape == (8, 64) and codes.max() <= 15


def test_int4_packing_round_trips_and_keeps_even_columns_in_the_low_nibble():
    codes = torch.randint(0, 16, (5, 12), dtype=torch.uint8)
    packed = pack_int4(codes)
    assert packed.shape == (5, 6)
    assert torch.equal(packed[:, 0] & 15, codes[:, 0]) and torch.equal(packed[:, 0] >> 4, codes[:, 1])
    assert torch.equal(unpack_int4(packed), codes)


def test_group_size_zero_means_one_group_per_row_and_a_non_divisor_is_refused():
    assert resolve_group_size(0, 96) == 96
    assert resolve_group_size(32, 96) == 32
    with pytest.raises(ValueError, match="does not divide"):
        resolve_group_size(64, 96)
    with pytest.raises(ValueError, match="bits must be 8 or 4"):
        quantize_weight(torch.randn(2, 32), 3, 0)
