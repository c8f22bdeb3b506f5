from pathlib import Path

import pytest

from vall_e.config import Config, load_config
from vall_e.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
# experiment configs; corpus, codec and fine-tune recipes have their own formats
# (tests/data/corpus/test_recipe.py, tests/codecs, tests/finetune/test_finetune_config.py)
YAMLS = sorted(p for d in ("configs", "recipes") for p in (REPO / d).rglob("*.yaml")
               if not {"corpus", "codec", "finetune"} & set(p.relative_to(REPO).parts))


def test_repository_has_yaml_files():
    assert any(p.name == "tiny.yaml" for p in YAMLS)


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_yaml_in_the_repository_loads(path):
    config = Config.from_yaml(path)
    assert config.model.d_model % config.model.n_heads == 0


def test_unknown_key_lists_valid_keys(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  lerning_rate: 0.1\n")
    with pytest.raises(ConfigError) as err:
        Config.from_yaml(bad)
    message = str(err.value)
    assert "lerning_rate" in message and "learning_rate" in message and "\n" not in message


def test_unknown_section_is_refused():
    with pytest.raises(ConfigError, match="valid keys"):
        Config.from_dict({"trainer": {}})


def test_wrong_type_is_refused():
    with pytest.raises(ConfigError, match="max_steps"):
        Config.from_dict({"train": {"max_steps": "many"}})
    with pytest.raises(ConfigError, match="expected an integer"):
        Config.from_dict({"train": {"max_steps": True}})


def test_int_widens_to_float_and_optional_accepts_none():
    config = Config.from_dict({"train": {"learning_rate": 1}, "codec": {"path": None}})
    assert config.train.learning_rate == 1.0 and isinstance(config.train.learning_rate, float)


def test_semantic_checks():
    with pytest.raises(ConfigError, match="divisible"):
        Config.from_dict({"model": {"d_model": 30, "n_heads": 4}})
    with pytest.raises(ConfigError, match="tasks"):
        Config.from_dict({"model": {"tasks": ["asr"]}})
    with pytest.raises(ConfigError, match="precision"):
        Config.from_dict({"train": {"precision": "fp8"}})
    with pytest.raises(ConfigError, match="attention_dropout"):
        Config.from_dict({"model": {"attention_dropout": 1.0}})
    with pytest.raises(ConfigError, match="text_position_rate must be >= 0"):
        Config.from_dict({"model": {"text_position_rate": -3.3}})
    with pytest.raises(ConfigError, match="ar_input_noise must be in"):
        Config.from_dict({"model": {"ar_input_noise": 1.0}})
    with pytest.raises(ConfigError, match="ar_self_inputs must be in"):
        Config.from_dict({"model": {"ar_self_inputs": -0.1}})
    for name in ("ar_input_noise", "ar_self_inputs"):  # AR+NAR training features only
        with pytest.raises(ConfigError, match=f"{name} is an AR\\+NAR feature"):
            Config.from_dict({"model": {"family": "llm", "layout": "flat", name: 0.2}})


def test_missing_and_invalid_yaml_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        Config.from_yaml(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        Config.from_yaml(broken)


def test_round_trip_through_yaml(tmp_path):
    config = load_config(REPO / "configs" / "tiny.yaml")
    config.save_yaml(tmp_path / "c.yaml")
    assert Config.from_yaml(tmp_path / "c.yaml") == config


# ----- issue 21, items 3 and 4: every float spelling, and no empty file as "all defaults" -----
@pytest.mark.parametrize("spelling, value", [
    ("3e-3", 3e-3), ("3E-3", 3e-3), ("3.0e-3", 3e-3), ("+3e-3", 3e-3), (".003", 3e-3),
    ("0.003", 3e-3), ("3e-03", 3e-3), ("'3e-3'", 3e-3), ("1_000.5", 1000.5), ("1e0", 1.0),
    ("2", 2.0),
])
def test_every_float_spelling_loads(tmp_path, spelling, value):
    path = tmp_path / "c.yaml"
    path.write_text(f"train:\n  learning_rate: {spelling}\n")
    assert Config.from_yaml(path).train.learning_rate == pytest.approx(value)


def test_integral_floats_fit_int_keys_and_words_still_do_not(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  max_steps: 1e4\n")
    assert Config.from_yaml(path).train.max_steps == 10000
    for bad in ("max_steps: 2.5", "learning_rate: fast", "learning_rate: .nan"):
        path.write_text(f"train:\n  {bad}\n")
        with pytest.raises(ConfigError):
            Config.from_yaml(path)


@pytest.mark.parametrize("content", ["", "\n\n", "# just a comment\n"])
def test_empty_yaml_is_refused(tmp_path, content):
    path = tmp_path / "empty.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match="is empty"):
        Config.from_yaml(path)


def test_inference_pace_is_checked_and_needs_an_aligned_model():
    aligned = {"model": {"alignment": "durations"}}
    assert Config.from_dict({**aligned, "inference": {"pace": 0.8}}).inference.pace == 0.8
    with pytest.raises(ConfigError, match="inference.pace must be in"):
        Config.from_dict({**aligned, "inference": {"pace": 0.0}})
    with pytest.raises(ConfigError, match="phoneme-aligned"):
        Config.from_dict({"model": {"alignment": "none"}, "inference": {"pace": 0.8}})
