"""The committed notebooks carry the results of a run against the embedded default model:
every one has its plots, no cell ended in an error, and each names the model it measured."""
from __future__ import annotations

import json

import pytest

from tests.conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
# notebook 04 compares precisions of a float checkpoint: the bf16 package of the same weights
MEASURED_ON = {"04": "default-float-package", "05": None, "06": None}


def _outputs(path):
    cells = json.loads(path.read_text())["cells"]
    return [out for cell in cells if cell["cell_type"] == "code" for out in cell.get("outputs", [])]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_shows_a_run_on_the_default_model(path):
    outputs = _outputs(path)
    assert not [o for o in outputs if o.get("output_type") == "error"], f"{path.name} has an error"
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{path.name} has no plot"
    model = MEASURED_ON.get(path.stem[:2], "vall_e/assets/default")
    if model:
        text = "".join("".join(o.get("text", "")) for o in outputs if o.get("output_type") == "stream")
        assert f"{model} (" in text, f"{path.name} was not executed against {model}"
