"""Random text through the CLI's main (issue 21): each case writes audio (exit 0) or exits 2
with one ``error:`` line; no traceback, no half-written or temporary file left behind."""
import contextlib
import io
import tempfile
from pathlib import Path

import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vall_e.cli.common import run_main
from vall_e.cli.synthesize import main
from tests.text.test_text_fuzz import TEXT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model(tiny_run):
    return str(tiny_run.checkpoint), str(tiny_run.reference())


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=TEXT)
def test_cli_speaks_or_refuses_in_one_line(model, text):
    checkpoint, reference = model
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.wav"
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = run_main(main, [text, reference, str(out), "--model", checkpoint,
                                   "--max-ar-steps", "5", "--batch-size", "8", "--quiet"])
        lines = err.getvalue().strip().splitlines()
        assert "Traceback" not in err.getvalue()
        if code == 2:
            errors = [line for line in lines if not line.startswith("warning: ")]
            assert len(errors) == 1 and errors[0].startswith("error: "), lines
            assert not out.exists()
        else:
            assert code == 0, lines
            assert all(line.startswith("warning: ") for line in lines), lines
            assert sf.info(out).frames > 0
        assert [p.name for p in Path(tmp).iterdir()] in ([], ["out.wav"])  # no temp file left
