"""A command-line mistake is one ``error:`` line and status 2 (no usage dump); a text that
starts with '-' is read as a flag, and the line says to put it after '--'."""
import pytest

from vall_e.cli.common import run_main
from vall_e.cli.synthesize import main


@pytest.mark.parametrize("argv, hint", [
    (["-:", "kumo", "out.wav"], "after '--'"),
    (["Hello.", "kumo", "out.wav", "--no-such-flag"], "--help"),
    (["Hello.", "kumo", "out.wav", "--ar-temp"], "after '--'"),
])
def test_argument_errors_are_one_line(capsys, tmp_path, argv, hint):
    assert run_main(main, argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and hint in err[0], err
    assert not (tmp_path / "out.wav").exists()
