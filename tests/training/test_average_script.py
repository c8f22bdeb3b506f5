"""scripts/average_checkpoints.py: the weighted mean of float tensors, refusals for checkpoints
that are not one architecture, and a real soup of the tiny run's checkpoint with itself."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("average_checkpoints", REPO / "scripts" / "average_checkpoints.py")
average = importlib.util.module_from_spec(spec)
spec.loader.exec_module(average)


def test_float_tensors_are_weighted_means_and_integer_ones_must_agree():
    a = {"w": torch.zeros(2, 2), "count": torch.tensor([3])}
    b = {"w": torch.ones(2, 2), "count": torch.tensor([3])}
    mean = average.average_state([a, b], [1.0, 3.0])
    assert torch.allclose(mean["w"], torch.full((2, 2), 0.75)) and mean["count"].item() == 3
    with pytest.raises(SystemExit, match="non-float tensor count differs"):
        average.average_state([a, {**b, "count": torch.tensor([4])}], [1, 1])
    with pytest.raises(SystemExit, match="different shapes"):
        average.average_state([a, {**b, "w": torch.ones(3)}], [1, 1])
    with pytest.raises(SystemExit, match="not one architecture"):
        average.average_state([a, {"w": b["w"]}], [1, 1])


@pytest.mark.slow  # a subprocess on the tiny run
def test_a_soup_of_a_checkpoint_with_itself_is_that_checkpoint(tiny_run, tmp_path):
    from vall_e.checkpoint import load_checkpoint

    out = tmp_path / "soup"
    subprocess.run([sys.executable, "scripts/average_checkpoints.py", "--out", str(out),
                    str(tiny_run.checkpoint), str(tiny_run.checkpoint)], cwd=REPO, check=True)
    original = load_checkpoint(tiny_run.checkpoint).model.state_dict()
    soup = load_checkpoint(out).model.state_dict()
    assert all(torch.allclose(soup[name], tensor) for name, tensor in original.items())
