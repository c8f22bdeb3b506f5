"""SamplerConfig carries --speed to the engine; an impossible pace is one clear error."""
import pytest

from vall_e import SamplerConfig
from vall_e.errors import SamplingError


def test_speed_reaches_the_sampling_params():
    assert SamplerConfig(speed=1.5).to_params().speed == 1.5
    assert SamplerConfig().to_params().speed == 1.0


@pytest.mark.parametrize("speed", [0.0, 10.0, -1.0])
def test_an_impossible_speed_is_refused(speed):
    with pytest.raises(SamplingError, match="speed"):
        SamplerConfig(speed=speed).to_params()
