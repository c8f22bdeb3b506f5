"""Which step directories the exporting callback keeps."""
from types import SimpleNamespace

from vall_e.training.export_callback import ExportCheckpoint


def run_exports(tmp_path, keep_last, keep_every, steps=range(100, 1100, 100)):
    def save(directory, module, step):
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "step.txt").write_text(str(step))

    callback = ExportCheckpoint(tmp_path, save, every_n_steps=100, keep_last=keep_last,
                                keep_every=keep_every)
    for step in steps:
        callback.export(SimpleNamespace(global_step=step, is_global_zero=True), None)
    return sorted(int(p.name.removeprefix("step-")) for p in (tmp_path / "checkpoints").iterdir())


def test_keeps_only_the_newest(tmp_path):
    assert run_exports(tmp_path, keep_last=3, keep_every=0) == [800, 900, 1000]
    assert (tmp_path / "latest" / "step.txt").read_text() == "1000"


def test_keeps_multiples_as_a_record_of_progress(tmp_path):
    assert run_exports(tmp_path, keep_last=2, keep_every=300) == [300, 600, 900, 1000]


def test_config_refuses_bad_values():
    import pytest

    from vall_e.config import Config
    from vall_e.errors import ConfigError

    with pytest.raises(ConfigError, match="keep_every_n_steps"):
        Config.from_dict({"train": {"keep_every_n_steps": -1}})
    with pytest.raises(ConfigError, match="keep_last_checkpoints"):
        Config.from_dict({"train": {"keep_last_checkpoints": 0}})
