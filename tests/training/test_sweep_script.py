"""scripts/sweep_default_gpu.py: its run specs, the checkpoint ranking it brings back by, and
the pieces a lent GPU returns (each under the 16 MiB a returned file may have)."""
import importlib.util
import io
import tarfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("sweep_default_gpu", REPO / "scripts" / "sweep_default_gpu.py")
sweep = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sweep)


def test_run_specs_parse_into_typed_dotted_overrides():
    name, overrides = sweep.parse_run("wide:train.learning_rate=3e-4,train.batch_size=16,"
                                      "model.dropout=0.2,train.precision=bf16-mixed")
    assert name == "wide"
    assert overrides == {"train.learning_rate": 3e-4, "train.batch_size": 16,
                         "model.dropout": 0.2, "train.precision": "bf16-mixed"}
    with pytest.raises(SystemExit, match="not SECTION.KEY=VALUE"):
        sweep.parse_run("a:batch_size=8")
    with pytest.raises(SystemExit, match="plain identifier"):
        sweep.parse_run("../a:train.batch_size=8")


def test_config_gets_overrides_output_dir_and_time_cap(tmp_path):
    path = tmp_path / "a.yaml"
    sweep.write_config(REPO / "configs" / "default.yaml", {"train.batch_size": 32, "model.dropout": 0.2},
                       tmp_path / "a", 6.5, path)
    config = yaml.safe_load(path.read_text())
    assert config["train"]["batch_size"] == 32 and config["model"]["dropout"] == 0.2
    assert config["train"]["output_dir"] == str(tmp_path / "a")
    assert config["train"]["max_minutes"] == 6.5
    assert config["model"]["d_model"] == 256  # the rest is the base config's


def _run(root: Path, name: str, val: dict[int, float], steps: list[int]) -> Path:
    run = root / name
    logs = run / "logs" / "version_0"
    logs.mkdir(parents=True)
    lines = ["step,train/loss,val/level0_loss"] + [f"{s},1.0," for s in range(0, 400, 50)]
    lines += [f"{step},,{loss}" for step, loss in val.items()]
    (logs / "metrics.csv").write_text("\n".join(lines) + "\n")
    for step in steps:
        (run / "checkpoints" / f"step-{step:07d}").mkdir(parents=True)
    return run


def test_checkpoints_rank_by_the_validation_logged_at_their_step(tmp_path):
    # Lightning logs the validation after step N as N - 1 (or N); a step without one is left out
    runs = {"a": _run(tmp_path, "a", {149: 2.5, 299: 2.3}, [150, 300, 400]),
            "b": _run(tmp_path, "b", {150: 2.4}, [150])}
    ranked = sweep.ranked_checkpoints(runs, "val/level0_loss")
    assert [(loss, name, c.name) for loss, name, c in ranked] == [
        (2.3, "a", "step-0000300"), (2.4, "b", "step-0000150"), (2.5, "a", "step-0000150")]
    # one checkpoint of each run comes back, best runs first
    assert [(name, c.name) for _, name, c in sweep.best_of_each_run(ranked)] == [
        ("a", "step-0000300"), ("b", "step-0000150")]
    table = sweep.ranking_table(runs, {"a": {}, "b": {}}, ranked, 120.0, "val/level0_loss")
    assert table.splitlines()[0] == "a: 400 steps in 2.0 min, {}"
    assert table.splitlines()[2] == "val/level0_loss, best first"


def test_returned_pieces_stay_under_the_limit_and_reassemble(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep, "PART_BYTES", 1000)
    checkpoint = tmp_path / "ckpt"
    checkpoint.mkdir()
    payload = bytes(range(256)) * 10
    (checkpoint / "model.safetensors").write_bytes(payload)
    out = tmp_path / "out"
    out.mkdir()
    parts = sweep.write_parts(checkpoint, "a-step-0000300", out)
    assert len(parts) > 2 and all(p.stat().st_size <= 1000 for p in parts)
    joined = b"".join(p.read_bytes() for p in sorted(out.glob("a-step-0000300.tar.part*")))
    with tarfile.open(fileobj=io.BytesIO(joined)) as tar:
        assert tar.extractfile("a-step-0000300/model.safetensors").read() == payload
