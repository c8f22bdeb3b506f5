import json

import pytest

from vall_e.data.corpus import CorpusRecipe, make_plan, make_speakers
from vall_e.data.corpus.plan import write_plan
from vall_e.data.corpus.recipe import KOKORO_VOICES, SpeakerConfig
from vall_e.errors import ConfigError, DataError

from .conftest import SMALL


def test_plan_is_a_pure_function_of_the_recipe(small_recipe):
    first, second = make_plan(small_recipe), make_plan(CorpusRecipe.from_dict(SMALL))
    assert [i.to_json() for i in first.items] == [i.to_json() for i in second.items]
    other = make_plan(CorpusRecipe.from_dict({**SMALL, "seed": 6}))
    assert [i.to_json() for i in other.items] != [i.to_json() for i in first.items]


def test_splits_hold_out_sentences_and_speakers(small_recipe):
    plan = make_plan(small_recipe)
    train = [i for i in plan.items if i.split == "train"]
    heldout_sentences, heldout_speakers = set(plan.heldout_sentences), set(plan.heldout_speakers)
    assert heldout_speakers and heldout_sentences
    assert not {i.sentence_id for i in train} & heldout_sentences
    assert not {i.speaker for i in train} & heldout_speakers
    assert not set(plan.train_sentences) & heldout_sentences
    seen = [i for i in plan.items if i.split == "eval_seen"]
    unseen = [i for i in plan.items if i.split == "eval_unseen"]
    assert {i.sentence_id for i in seen + unseen} <= heldout_sentences
    assert {i.speaker for i in seen} <= set(plan.train_speakers)
    assert {i.speaker for i in unseen} == heldout_speakers
    # Sizes follow the recipe: 2 bases + 3 blends + joe = 6 training speakers.
    assert len(plan.train_speakers) == 6 and len(train) == 6 * 5
    assert len(seen) == 6 * 2 and len(unseen) == 2 * 3
    assert len({i.id for i in plan.items}) == len(plan.items)
    for speaker in plan.train_speakers:  # nobody reads a sentence twice
        ids = [i.sentence_id for i in train if i.speaker == speaker]
        assert len(ids) == len(set(ids)) == 5


def test_item_settings_follow_the_speaker(small_recipe):
    plan = make_plan(small_recipe)
    for item in plan.items:
        if item.teacher == "kokoro":
            assert abs(sum(item.settings["weights"].values()) - 1.0) < 1e-6
            assert 0.5 <= item.settings["speed"] <= 2.0
        else:
            assert item.speaker == "piper_joe" and isinstance(item.settings["seed"], int)


def test_blends_are_distinct_and_some_are_low():
    config = SpeakerConfig(train_blends=10, heldout_blends=4)
    speakers = make_speakers(config, seed=0)
    assert [s.name for s in speakers] == [s.name for s in make_speakers(config, seed=0)]
    blends = [s for s in speakers if "blend" in s.name]
    assert len(blends) == 14 and sum(s.heldout for s in speakers) == 4
    vectors = [[s.weights[v] for v in KOKORO_VOICES] for s in blends]
    for a in range(len(vectors)):
        assert max(vectors[a]) <= config.blend_max_weight + 1e-6
        for b in range(a):
            assert sum(abs(x - y) for x, y in zip(vectors[a], vectors[b])) >= 0.35 - 1e-3
    assert sum(s.weights["jm_kumo"] >= 0.55 - 1e-6 for s in blends) == 7


def test_impossible_blend_request_is_refused():
    with pytest.raises(ConfigError, match="distinct blends"):
        make_speakers(SpeakerConfig(train_blends=200, blend_min_distance=0.9), seed=0)


def test_a_different_plan_in_the_output_is_refused(tmp_path, small_recipe):
    write_plan(make_plan(small_recipe), tmp_path)
    write_plan(make_plan(small_recipe), tmp_path)  # same plan: fine
    first = json.loads((tmp_path / "plan.jsonl").read_text().splitlines()[0])
    assert set(first) == {"id", "split", "speaker", "sentence_id", "text", "teacher", "settings"}
    with pytest.raises(DataError, match="different recipe"):
        write_plan(make_plan(CorpusRecipe.from_dict({**SMALL, "seed": 9})), tmp_path)


def _extension(tmp_path, **overrides):
    """An extension of the SMALL recipe (written to disk: ``extends`` names a YAML file)."""
    import yaml

    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(SMALL))
    raw = {"extends": str(base), "seed": 9,
           "sentences": {"id_prefix": "x", "pool_size": 300, "train": 30, "min_phone_count": 1,
                         "max_words": 12},
           "items": {"per_train_speaker": 5}}
    for section, values in overrides.items():
        raw[section] = {**raw.get(section, {}), **values} if isinstance(values, dict) else values
    return CorpusRecipe.from_dict(raw)


def test_extension_adds_training_text_for_the_same_speakers_and_never_the_base_sentences(tmp_path):
    extension = _extension(tmp_path)
    plan, base_plan = make_plan(extension), make_plan(extension.base())
    assert {i.split for i in plan.items} == {"train"}
    assert plan.train_speakers == base_plan.train_speakers and not plan.heldout_speakers
    base_specs = {s.name: s for s in base_plan.speakers}
    assert all(s == base_specs[s.name] for s in plan.speakers)  # same voices, same rates
    assert not set(plan.sentences.values()) & set(base_plan.sentences.values())
    assert all(i.sentence_id.startswith("x") for i in plan.items)
    assert len(plan.items) == len(plan.train_speakers) * 5


def test_extension_refuses_what_would_break_the_base_evaluation(tmp_path):
    with pytest.raises(ConfigError, match="sentences.heldout must be 0"):
        _extension(tmp_path, sentences={"heldout": 5})
    with pytest.raises(ConfigError, match="speakers"):
        _extension(tmp_path, speakers={"train_blends": 2})
    with pytest.raises(ConfigError, match="id_prefix"):
        _extension(tmp_path, sentences={"id_prefix": "s"})
    with pytest.raises(ConfigError, match="is not a file"):
        _extension(tmp_path, extends=str(tmp_path / "missing.yaml"))


def test_the_repository_extension_recipe_excludes_the_default_corpus(monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parents[3])  # extends: is relative to the repo
    extension = CorpusRecipe.from_yaml("recipes/corpus/extra.yaml")
    assert extension.base().sentences.id_prefix != extension.sentences.id_prefix
    assert extension.sentences.heldout == 0 and extension.items.per_heldout_speaker == 0


def test_added_blends_are_new_voices_that_keep_away_from_the_held_out_ones(tmp_path):
    import numpy as np

    from vall_e.data.corpus.speakers import _vector as vector

    extension = _extension(tmp_path, added_blends=4, added_blend_distance=0.2)
    plan, base_plan = make_plan(extension), make_plan(extension.base())
    base_names = {s.name for s in base_plan.speakers}
    assert len(plan.speakers) == 4 and not base_names & set(plan.train_speakers)
    # numbered after every base blend (held-out ones included), so names never collide
    assert [s.name for s in plan.speakers] == [f"kokoro_blend_{k:02d}" for k in range(5, 9)]
    held = [vector(s) for s in base_plan.speakers if s.heldout]
    trained = [vector(s) for s in base_plan.speakers if not s.heldout and "blend" in s.name]
    added = [vector(s) for s in plan.speakers]
    for k, w in enumerate(added):
        assert all(np.abs(w - h).sum() >= extension.speakers.blend_min_distance for h in held)
        assert all(np.abs(w - t).sum() >= 0.2 for t in trained + added[:k])
    assert {i.speaker for i in plan.items} == set(plan.train_speakers)
    assert len(plan.items) == 4 * 5 and {i.split for i in plan.items} == {"train"}
    # the base corpus itself is untouched by its extension
    assert [i.to_json() for i in make_plan(extension.base()).items] == \
        [i.to_json() for i in base_plan.items]


def test_an_extension_that_follows_another_adds_to_its_voices_and_sentences(tmp_path):
    import numpy as np
    import yaml

    from vall_e.data.corpus.speakers import _vector as vector

    first = _extension(tmp_path, added_blends=3, added_blend_distance=0.2)
    first_path = tmp_path / "first.yaml"
    raw = {k: v for k, v in first.to_dict().items() if k != "speakers"}  # extensions reuse the base's
    first_path.write_text(yaml.safe_dump(raw))
    second = _extension(tmp_path, added_blends=3, added_blend_distance=0.2, seed=11,
                        follows=[str(first_path)], sentences={"id_prefix": "y"})
    first_plan, second_plan = make_plan(first), make_plan(second)
    # numbered after the base's 5 blends and the first extension's 3
    assert [s.name for s in first_plan.speakers] == [f"kokoro_blend_{k:02d}" for k in range(5, 8)]
    assert [s.name for s in second_plan.speakers] == [f"kokoro_blend_{k:02d}" for k in range(8, 11)]
    for w in map(vector, second_plan.speakers):
        assert all(np.abs(w - vector(s)).sum() >= 0.2 for s in first_plan.speakers)
    assert not set(second_plan.sentences.values()) & set(first_plan.sentences.values())
    # following is what makes the difference: without it, names and voices would repeat
    alone = make_plan(_extension(tmp_path, added_blends=3, added_blend_distance=0.2, seed=11,
                                 sentences={"id_prefix": "y"}))
    assert alone.speakers[0].name == "kokoro_blend_05"


def test_follows_refuses_what_is_not_an_extension_of_the_same_base(tmp_path):
    import yaml

    other_base = tmp_path / "other.yaml"
    other_base.write_text(yaml.safe_dump({**SMALL, "seed": 8}))
    stranger = tmp_path / "stranger.yaml"
    stranger.write_text(yaml.safe_dump({"extends": str(other_base), "added_blends": 2,
                                        "sentences": {"id_prefix": "z", "pool_size": 300,
                                                      "train": 10, "min_phone_count": 1},
                                        "items": {"per_train_speaker": 5}}))
    with pytest.raises(DataError, match="does not extend"):
        make_plan(_extension(tmp_path, added_blends=2, follows=[str(stranger)]))
    with pytest.raises(ConfigError, match="follows needs 'extends'"):
        CorpusRecipe.from_dict({**SMALL, "follows": [str(stranger)]})


def test_added_blends_need_a_base_corpus():
    with pytest.raises(ConfigError, match="added_blends needs 'extends'"):
        CorpusRecipe.from_dict({**SMALL, "added_blends": 2})


def test_the_repository_blends_recipe_keeps_the_default_unseen_voices_unseen(monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parents[3])
    extension = CorpusRecipe.from_yaml("recipes/corpus/blends.yaml")
    assert extension.added_blends == 16 and extension.items.per_heldout_speaker == 0
    assert extension.base().sentences.id_prefix != extension.sentences.id_prefix


def test_the_repository_many_blends_recipe_follows_the_blends_recipe(monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parents[3])
    extension = CorpusRecipe.from_yaml("recipes/corpus/many-blends.yaml")
    blends = CorpusRecipe.from_yaml("recipes/corpus/blends.yaml")
    assert extension.follows == ["recipes/corpus/blends.yaml"] and extension.extends == blends.extends
    prefixes = {extension.sentences.id_prefix, blends.sentences.id_prefix,
                extension.base().sentences.id_prefix}
    assert len(prefixes) == 3
