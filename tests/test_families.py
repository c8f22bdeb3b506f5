"""vall_e.families: one table says what differs by family, and its callers look entries up
(training setup and strategy, the random-checkpoint fixture, the checkpoint loader and writer)."""
from dataclasses import replace

import numpy as np
import pytest

from vall_e import config as config_module
from vall_e.checkpoint import load_checkpoint
from vall_e.codecs import CodecInfo
from vall_e.config import Config
from vall_e.data.shards import ShardWriter, Utterance
from vall_e.errors import ConfigError
from vall_e.families import FAMILIES, family_of

INFO = CodecInfo(name="encodec", sample_rate=24000, frame_rate=75.0, n_levels=2, codebook_size=1024)
MODULES = {"ar_nar": "ARNARLightning", "llm": "LLMTTSLightning"}


def _config(family: str, tmp_path, **train) -> Config:
    model = {"family": family, "d_model": 16, "n_layers": 1, "n_heads": 2,
             "layout": family_of(family).fresh_layout}
    return Config.from_dict({"model": model, "codec": {"name": "encodec", "n_levels": 2},
                             "data": {"path": str(tmp_path / "data"), "val_fraction": 0.25},
                             "train": {"output_dir": str(tmp_path / "run"), **train}})


def _utterances(n: int = 8) -> list[Utterance]:
    rng = np.random.default_rng(0)
    return [Utterance(f"spk{i % 2}/utt{i}", f"spk{i % 2}", "hello there", ["h", "ə", " ", "l"],
                      rng.integers(0, INFO.codebook_size, size=(INFO.n_levels, 20)))
            for i in range(n)]


def _spy(monkeypatch, family: str, **fields) -> None:
    """Swap fields of ``family``'s table entry for the duration of the test."""
    monkeypatch.setitem(FAMILIES, family, replace(FAMILIES[family], **fields))


def test_the_table_covers_exactly_the_families_the_config_accepts():
    assert set(FAMILIES) == set(config_module.FAMILIES)
    assert all(entry.name == name for name, entry in FAMILIES.items())
    with pytest.raises(ConfigError, match=r"^model family 'tacotron' is not supported; use one of"):
        family_of("tacotron")


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_entry_sets_up_training_for_its_family(family, tmp_path):
    setup = family_of(family).setup(_config(family, tmp_path), tmp_path, _utterances(), INFO, False)
    assert type(setup.module).__name__ == MODULES[family]
    assert len(setup.train_set) + len(setup.val_set) == 8
    setup.export(tmp_path / "ckpt", setup.module, 3)  # what the exporter writes loads back
    loaded = load_checkpoint(tmp_path / "ckpt")
    assert loaded.family == family and loaded.step == 3


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_train_takes_its_setup_from_the_table(family, tmp_path, monkeypatch):
    from vall_e.training.train import train

    class Called(Exception):
        pass

    def setup(config, output_dir, utterances, codec_info, resume):
        raise Called(config.model.family, len(utterances), codec_info, resume)

    _spy(monkeypatch, family, setup=setup)
    with ShardWriter(tmp_path / "data", INFO, 4) as writer:
        for utt in _utterances():
            writer.add(utt, source=utt.id)
    with pytest.raises(Called) as called:
        train(_config(family, tmp_path), progress=False)
    assert called.value.args == (family, 8, INFO, False)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_ddp_looks_for_unused_parameters_where_the_table_says(family, tmp_path, monkeypatch):
    from vall_e.training.train import _strategy

    config = _config(family, tmp_path, strategy="ddp", accelerator="cpu")
    expected = "ddp_find_unused_parameters_true" if family == "ar_nar" else "ddp"
    assert _strategy(config) == expected  # AR+NAR leaves heads unused; an LLM does not
    for unused in (True, False):
        _spy(monkeypatch, family, unused_parameters_under_ddp=unused)
        assert _strategy(config) == ("ddp_find_unused_parameters_true" if unused else "ddp")


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_random_checkpoints_are_built_and_saved_by_the_entry(family, tmp_path, monkeypatch):
    from vall_e.models.random_checkpoint import save_random_checkpoint

    entry, calls = FAMILIES[family], []

    def build(config, vocab, info):
        calls.append(("build", config.model.tasks, config.model.layout))
        return entry.build(config, vocab, info)

    def save(record, directory):
        calls.append(("save", record.family))
        return entry.save(record, directory)

    _spy(monkeypatch, family, build=build, save=save)
    path = save_random_checkpoint(family, tmp_path / "random", tmp_path / "codec")
    assert calls == [("build", list(entry.tasks), entry.fresh_layout), ("save", family)]
    assert load_checkpoint(path).family == family
