import argparse

import pytest

from vall_e.cli.sampling_flags import add_sampling_flags, sampling_params_from_args
from vall_e.errors import SamplingError
from vall_e.sampling.params import SamplingParams


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_sampling_flags(parser)
    return parser.parse_args(list(argv))


def test_flags_not_given_leave_the_models_own_settings():
    model_defaults = SamplingParams(ar_temp=0.6, min_p=0.05, refine_on_stop=True)
    assert sampling_params_from_args(_parse(), model_defaults) == model_defaults
    assert sampling_params_from_args(_parse()) == SamplingParams()


def test_a_given_flag_overrides_only_its_own_field():
    model_defaults = SamplingParams(ar_temp=0.6, min_p=0.05)
    params = sampling_params_from_args(_parse("--ar-temp", "1.0", "--layer-skip"), model_defaults)
    assert (params.ar_temp, params.min_p, params.layer_skip) == (1.0, 0.05, True)


def test_impossible_values_are_refused_whatever_the_base():
    with pytest.raises(SamplingError, match="--top-p"):
        sampling_params_from_args(_parse("--top-p", "1.5"), SamplingParams(ar_temp=0.6))


def test_model_settings_with_an_unknown_name_are_one_clear_error():
    with pytest.raises(SamplingError, match="unknown sampler setting.*tempreature"):
        SamplingParams.from_mapping({"tempreature": 0.6}, "inference.sampling")
