from pathlib import Path

import pytest

from vall_e.data.corpus import CorpusRecipe
from vall_e.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
RECIPES = sorted((REPO / "recipes" / "corpus").glob("*.yaml"))


def test_the_default_and_toy_recipes_exist():
    assert {p.name for p in RECIPES} >= {"default.yaml", "toy.yaml"}


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_every_corpus_recipe_loads_and_starts_with_its_command(path):
    CorpusRecipe.from_yaml(path)
    first = path.read_text().splitlines()[0]
    assert first.startswith("# Run:  python -m vall_e.data.corpus --yaml recipes/corpus/")


def test_unknown_key_is_refused_with_the_valid_keys(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("speakers:\n  train_blend: 3\n")
    with pytest.raises(ConfigError) as err:
        CorpusRecipe.from_yaml(bad)
    message = str(err.value)
    assert "train_blend" in message and "train_blends" in message and "\n" not in message


def test_unknown_section_and_wrong_type_are_refused():
    with pytest.raises(ConfigError, match="valid keys"):
        CorpusRecipe.from_dict({"voices": {}})
    with pytest.raises(ConfigError, match="pool_size"):
        CorpusRecipe.from_dict({"sentences": {"pool_size": "lots"}})


@pytest.mark.parametrize("raw, words", [
    ({"language": "fr-fr"}, "en-us"),
    ({"speakers": {"kokoro_bases": ["af_heart"]}}, "unknown voice"),
    ({"sentences": {"pool_size": 10, "train": 10, "heldout": 5}}, "exceeds"),
    ({"items": {"per_train_speaker": 0}}, "per_train_speaker"),
    ({"teachers": {"peak": 1.5}}, "peak"),
    ({"speakers": {"kokoro_bases": [], "train_blends": 0, "piper_joe": False}},
     "no training speaker"),
])
def test_impossible_values_are_refused(raw, words):
    with pytest.raises(ConfigError, match=words):
        CorpusRecipe.from_dict(raw)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        CorpusRecipe.from_yaml(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("seed: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        CorpusRecipe.from_yaml(broken)
