"""Every fine-tune recipe loads, is headed by the command that runs it, and bad keys fail."""
import pytest

from tests.finetune.conftest import RECIPES
from vall_e.errors import ConfigError
from vall_e.finetune.config import FinetuneConfig

YAMLS = sorted(RECIPES.glob("*.yaml"))


def test_the_five_recipes_exist():
    assert {p.stem for p in YAMLS} >= {"lora_ar_nar", "lora_llm", "full", "speaker_offset",
                                       "unsloth_llm"}


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.name)
def test_recipe_loads_and_is_headed_by_its_command(path):
    config = FinetuneConfig.from_yaml(path)
    assert config.base and config.speaker_data and config.method in ("lora", "full", "offset")
    first = path.read_text().splitlines()[0]
    assert first == f"# python -m vall_e.finetune --yaml recipes/finetune/{path.name}"


def test_unknown_key_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['rnk'\].*'rank'"):
        FinetuneConfig.from_dict({"lora": {"rnk": 4}})
    with pytest.raises(ConfigError, match="lerning_rate"):
        FinetuneConfig.from_dict({"train": {"lerning_rate": 1.0}})


def test_a_section_for_another_method_or_backend_is_refused():
    with pytest.raises(ConfigError, match="'lora' section is for method lora"):
        FinetuneConfig.from_dict({"method": "offset", "lora": {"rank": 4}})
    with pytest.raises(ConfigError, match="'full' section is for method full"):
        FinetuneConfig.from_dict({"method": "lora", "full": {"freeze_layers": 1}})
    with pytest.raises(ConfigError, match="'unsloth' section is for backend unsloth"):
        FinetuneConfig.from_dict({"unsloth": {"load_in_4bit": True}})


def test_values_are_checked():
    for raw, message in [({"method": "prefix"}, "method 'prefix'"),
                         ({"backend": "jax"}, "backend 'jax'"),
                         ({"method": "full", "backend": "unsloth"}, "LoRA adapters only"),
                         ({"lora": {"rank": 0}}, "lora.rank"),
                         ({"lora": {"dropout": 1.5}}, "lora.dropout"),
                         ({"lora": {"target_modules": []}}, "target_modules"),
                         ({"data": {"val_fraction": 0.0}}, "val_fraction"),
                         ({"train": {"strategy": "horovod"}}, "train.strategy")]:
        with pytest.raises(ConfigError, match=message):
            FinetuneConfig.from_dict(raw)


def test_fine_tune_defaults_are_short_and_paths_are_required():
    config = FinetuneConfig.from_dict({"train": {"batch_size": 2}})
    assert config.train.max_steps == 200 and config.train.output_dir == "runs/finetune"
    with pytest.raises(ConfigError, match="no base checkpoint"):
        config.require_paths()


def test_a_speakers_data_drops_the_bases_speaker_weights(tmp_path):
    from vall_e.config import DataConfig
    from vall_e.finetune.config import FinetuneData

    base = DataConfig(bucket_by_length=True, speaker_weights={"corpus_voice": 3})
    data = FinetuneData().resolve(base, tmp_path)
    assert data.speaker_weights == {} and data.bucket_by_length
    assert data.path == str(tmp_path / "data")
