"""Every notebook in notebooks/ runs top to bottom on the 2-layer test model.

Each runs in a fresh kernel started in a temporary directory, with two sentences, one voice,
short clips and the quick stand-in judges (Whisper base costs ~3 s a clip on this CPU, and
the test model speaks noise anyway); a cell that raises fails the test with its traceback.
The training-curves notebook reads the tiny run's own CSV logs and those of a toy codec
trained here. The committed notebooks are executed against the default model instead
(``scripts/run_notebooks.py``).
"""
from __future__ import annotations

import os

import pytest

from tests.conftest import REPO, run_module

pytest.importorskip("nbclient", reason='needs the dev extra: pip install -e ".[dev]"')

from vall_e.eval.notebooks import execute_notebook, findings, parameter_names  # noqa: E402

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def toy_codec(tiny_run, tmp_path_factory):
    """A toy mel_rvq codec trained on the tiny corpus: its directory writes CSV logs too."""
    out = tmp_path_factory.mktemp("toy_codec") / "run"
    run_module("vall_e.codecs.train", "--yaml", str(REPO / "configs" / "codec" / "toy.yaml"),
               "--input", str(tiny_run.corpus), "--output", str(out), "--quiet")
    return out


def _parameters(names: list[str], tiny_run, request) -> dict:
    """The test-model values of the parameters this notebook takes (``names``)."""
    params = {"model": str(tiny_run.checkpoint), "n_sentences": 2, "refs": str(tiny_run.corpus),
              "n_refs": 1, "judges": "quick", "max_ar_steps": 40, "threads": 1,
              # a loose threshold too, so the test model does exit early somewhere
              "thresholds": [(0.5, 0.5), (50.0, 500.0)],
              "model_logs": str(tiny_run.run_dir)}
    if "codec_logs" in names:
        codec_run = request.getfixturevalue("toy_codec")
        params.update(codec_logs=str(codec_run / "logs"), codec=str(codec_run / "codec"),
                      codec_levels=2, n_refs=2)
    return {k: v for k, v in params.items() if k in names}


def _images(notebook) -> int:
    return sum("image/png" in out.get("data", {}) for cell in notebook.cells
               for out in cell.get("outputs", []))


def test_there_are_notebooks():
    names = [p.stem[:2] for p in NOTEBOOKS]
    assert names == sorted(set(names)) and len(names) >= 4, names


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_the_test_model(path, tiny_run, request, tmp_path, monkeypatch):
    import nbformat

    source = nbformat.read(path, as_version=4)
    intro = source.cells[0]
    assert intro.cell_type == "markdown" and "**Question.**" in intro.source
    assert "scripts/run_notebooks.py" in intro.source  # says how to rerun it
    params = _parameters(parameter_names(source), tiny_run, request)
    before = path.stat().st_mtime_ns
    # the kernel imports this checkout's vall_e, installed or not, and stays on one thread
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    executed = execute_notebook(path, params, output=tmp_path / path.name, cwd=tmp_path, timeout=300)
    assert path.stat().st_mtime_ns == before  # the committed copy is left alone
    assert _images(executed) >= 1
    (line,) = findings(executed)
    assert line and "None" not in line
