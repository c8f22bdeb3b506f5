import pytest

from vall_e.cli.threads import SPIN_COUNT, default_wait_policy, set_threads
from vall_e.errors import ConfigError


def test_the_cli_bounds_the_openmp_spin_unless_the_user_chose():
    env: dict[str, str] = {}
    default_wait_policy(env)
    assert env == {"GOMP_SPINCOUNT": str(SPIN_COUNT)}
    for chosen in ({"OMP_WAIT_POLICY": "PASSIVE"}, {"GOMP_SPINCOUNT": "10"}):
        env = dict(chosen)
        default_wait_policy(env)
        assert env == chosen  # a user's own setting is never overridden


def test_threads_below_one_is_a_config_error():
    with pytest.raises(ConfigError, match="at least 1"):
        set_threads(0)
