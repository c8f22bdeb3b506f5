"""SamplingParams: defaults are off and valid; every impossible value is refused by its flag name."""
import math

import pytest

from vall_e.errors import SamplingError
from vall_e.sampling import SamplingParams, cli_flag

FLOAT_FIELDS = [
    "ar_temp", "nar_temp", "min_ar_temp", "min_nar_temp", "top_p", "min_p", "repetition_penalty",
    "repetition_penalty_decay", "length_penalty", "mirostat_tau", "mirostat_eta", "dry_multiplier",
    "dry_base", "layer_skip_entropy_threshold", "layer_skip_varentropy_threshold",
]


def test_defaults_are_valid_and_off():
    p = SamplingParams().validate()
    assert (p.top_k, p.top_p, p.min_p, p.repetition_penalty, p.length_penalty) == (0, 1.0, 0.0, 1.0, 0.0)
    assert (p.beam_width, p.mirostat_tau, p.dry_multiplier, p.layer_skip) == (0, 0.0, 0.0, False)
    assert p.min_temperature("ar") is None and p.min_temperature("nar") is None
    assert p.temperature("ar") == 1.0 and p.temperature("nar") == 0.0


def test_cli_flag_spells_every_field():
    assert cli_flag("top_p") == "--top-p"
    assert cli_flag("repetition_penalty_decay") == "--repetition-penalty-decay"
    assert all(cli_flag(name).startswith("--") for name in SamplingParams.field_names())
    with pytest.raises(KeyError):
        cli_flag("nucleus")


INVALID = [
    ({"ar_temp": -0.1}, "--ar-temp"),
    ({"nar_temp": -1.0}, "--nar-temp"),
    ({"ar_temp": 0.5, "min_ar_temp": 0.5}, "--min-ar-temp"),
    ({"ar_temp": 0.5, "min_ar_temp": 0.9}, "--min-ar-temp"),
    ({"nar_temp": 0.0, "min_nar_temp": 0.0}, "--min-nar-temp"),
    ({"top_k": -1}, "--top-k"),
    ({"top_k": 2.5}, "--top-k"),
    ({"top_p": 0.0}, "--top-p"),
    ({"top_p": 1.5}, "--top-p"),
    ({"min_p": -0.1}, "--min-p"),
    ({"min_p": 1.0}, "--min-p"),
    ({"repetition_penalty": 0.0}, "--repetition-penalty"),
    ({"repetition_penalty": -2.0}, "--repetition-penalty"),
    ({"repetition_penalty_decay": -0.5}, "--repetition-penalty-decay"),
    ({"beam_width": -1}, "--beam-width"),
    ({"mirostat_tau": -1.0}, "--mirostat-tau"),
    ({"mirostat_tau": 3.0, "mirostat_eta": 0.0}, "--mirostat-eta"),
    ({"dry_multiplier": -0.1}, "--dry-multiplier"),
    ({"dry_multiplier": 0.8, "dry_base": 1.0}, "--dry-base"),
    ({"dry_allowed_length": 0}, "--dry-allowed-length"),
    ({"layer_skip_exit_layer": -2}, "--layer-skip-exit-layer"),
    ({"layer_skip_entropy_threshold": -0.1}, "--layer-skip-entropy-threshold"),
    ({"layer_skip_varentropy_threshold": -0.1}, "--layer-skip-varentropy-threshold"),
    ({"layer_skip": 1}, "--layer-skip"),
    ({"seed": -1}, "--seed"),
]


@pytest.mark.parametrize("changes, flag", INVALID, ids=[str(c) for c, _ in INVALID])
def test_impossible_values_name_their_flag(changes, flag):
    with pytest.raises(SamplingError) as error:
        SamplingParams(**changes).validate()
    message = str(error.value)
    assert message.startswith(flag + " ") and "\n" not in message


def test_message_shows_the_rule_and_the_value():
    with pytest.raises(SamplingError, match=r"^--top-p must be in \(0, 1\], got 1.5$"):
        SamplingParams(top_p=1.5).validate()


@pytest.mark.parametrize("name", FLOAT_FIELDS)
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nan_and_inf_are_refused_everywhere(name, bad):
    with pytest.raises(SamplingError, match="^" + cli_flag(name) + " must be a finite number"):
        SamplingParams(**{name: bad}).validate()


def test_beam_and_mirostat_exclude_each_other():
    with pytest.raises(SamplingError, match="^--beam-width cannot be combined with --mirostat-tau$"):
        SamplingParams(beam_width=4, mirostat_tau=3.0).validate()


def test_boundary_values_are_accepted():
    SamplingParams(ar_temp=0.0, top_p=1.0, min_p=0.0, top_k=0, repetition_penalty=0.5).validate()
    SamplingParams(ar_temp=1.0, min_ar_temp=0.0, nar_temp=0.5, min_nar_temp=0.1).validate()
    SamplingParams(mirostat_tau=5.0, dry_multiplier=0.8, dry_base=1.01, beam_width=0).validate()
    SamplingParams(mirostat_tau=0.0, mirostat_eta=0.0, dry_multiplier=0.0, dry_base=0.5).validate()
    assert SamplingParams(min_ar_temp=0.2).min_temperature("ar") == 0.2


def test_with_changes_validates():
    assert SamplingParams().with_changes(top_k=5).top_k == 5
    with pytest.raises(SamplingError, match="^--top-k"):
        SamplingParams().with_changes(top_k=-5)
