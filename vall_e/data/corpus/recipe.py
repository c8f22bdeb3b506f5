"""The corpus recipe: one YAML file -> ``CorpusRecipe`` (strict, like ``vall_e.config``).

Every number that shapes the corpus lives here, so that the plan (and therefore every item's id,
text, speaker and teacher settings) is a pure function of the recipe. Unknown keys and values of
the wrong type are refused with one line naming the valid keys (the experiment config's loader
does the checking; this module only adds the corpus-specific range checks).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from vall_e.errors import ConfigError
# build_dataclass is the strict dict -> dataclass builder shared with the experiment config:
# reusing it keeps one definition of "unknown key" and "wrong type" errors across every YAML in
# the project.
from vall_e.strict_yaml import build_dataclass, read_yaml

KOKORO_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")


@dataclass
class SentenceConfig:
    """How many sentences are generated, kept and held out."""

    pool_size: int = 8000  # candidates generated before the coverage selection
    train: int = 1600  # sentences that training speakers read
    heldout: int = 60  # sentences no training item contains
    min_phone_count: int = 20  # greedy selection runs until every phone has this many
    max_words: int = 32  # longer candidates are dropped (keeps items under ~15 s)
    # sentence ids are "<id_prefix><pool index>"; an extension needs a prefix of its own so
    # that its items never collide with the base corpus's files or prepared ids
    id_prefix: str = "s"


@dataclass
class SpeakerConfig:
    """Which voices exist. Only timbre differences count as speakers (not rate or noise)."""

    kokoro_bases: list = field(default_factory=lambda: list(KOKORO_VOICES))
    train_blends: int = 16
    heldout_blends: int = 4
    blend_max_weight: float = 0.8  # no blend may be (almost) one base voice again
    blend_min_distance: float = 0.35  # L1 distance between any two blends' weight vectors
    # jm_kumo is the only low (male) base voice; uniform blends would almost never be low-pitched,
    # so this share of blends takes a jm_kumo weight from low_blend_kumo (f0 ~120-165 Hz).
    low_blend_share: float = 0.5
    low_blend_kumo: list = field(default_factory=lambda: [0.55, 0.8])
    speed_range: list = field(default_factory=lambda: [0.9, 1.1])  # per-speaker Kokoro rate
    piper_joe: bool = True
    piper_length_scale: float = 1.0
    piper_noise_scale: float = 0.667  # Piper's own defaults: natural, seeded per item
    piper_noise_w_scale: float = 0.8


@dataclass
class ItemConfig:
    """How many recordings each split gets."""

    per_train_speaker: int = 100
    eval_seen_readings: int = 2  # each held-out sentence is read by this many train speakers
    per_heldout_speaker: int = 30  # held-out speakers read held-out sentences only
    speed_jitter: float = 0.05  # per-item Kokoro rate varies by up to +-5% around the speaker's


@dataclass
class TeacherConfig:
    """How the teachers run. Nothing here changes the planned items."""

    threads: int = 1  # onnxruntime intra-op threads: other work shares the machine
    peak: float = 0.9  # every item is scaled to this peak so teachers share one loudness
    cache_dir: str | None = None  # assembled Kokoro model; default ~/.cache/vall_e


@dataclass
class CorpusRecipe:
    seed: int = 0
    language: str = "en-us"
    # another recipe (a YAML path) this one adds training text to: its training speakers are
    # reused unchanged, none of its sentences (training or held out) is drawn again, and this
    # recipe makes training items only, so the base's evaluation splits stay unseen
    extends: str | None = None
    # an extension only: this many new training blends read its items instead of the base's
    # training speakers. They are drawn after every blend of the base, held-out ones included,
    # and kept at least speakers.blend_min_distance from each, so the base's unseen voices stay
    # as far from training as the recipe asks (more voices between them is what it is for);
    # added_blend_distance is their L1 distance from the base's training blends and each other
    added_blends: int = 0
    added_blend_distance: float = 0.2
    # other extensions of the same base (YAML paths) made before this one: their voices count
    # as earlier voices (numbered before this one's new blends and kept added_blend_distance
    # from them) and their sentences are not drawn again, so several extensions add up
    follows: list[str] = field(default_factory=list)
    sentences: SentenceConfig = field(default_factory=SentenceConfig)
    speakers: SpeakerConfig = field(default_factory=SpeakerConfig)
    items: ItemConfig = field(default_factory=ItemConfig)
    teachers: TeacherConfig = field(default_factory=TeacherConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict, source: str = "corpus recipe") -> CorpusRecipe:
        if isinstance(raw, dict) and raw.get("extends") is not None:
            raw = _extension_defaults(raw, source)
        recipe = build_dataclass(cls, raw, source)
        _validate(recipe, source)
        return recipe

    def base(self) -> CorpusRecipe | None:
        """The recipe this one extends (None for a standalone corpus)."""
        return None if self.extends is None else CorpusRecipe.from_yaml(self.extends)

    @classmethod
    def from_yaml(cls, path: str | Path) -> CorpusRecipe:
        return cls.from_dict(read_yaml(path, "corpus recipe"), source=str(path))


# An extension makes training items only: these keys default to 0 and must stay 0.
_EXTENSION_ZEROS = (("sentences", "heldout"), ("items", "eval_seen_readings"),
                    ("items", "per_heldout_speaker"))


def _extension_defaults(raw: dict, where: str) -> dict:
    """The raw dict of an ``extends`` recipe with the base's speakers and language filled in."""
    if "speakers" in raw:
        raise ConfigError(f"{where}: a recipe with 'extends' reuses the base corpus's training "
                          "speakers; remove its 'speakers' section")
    base_path = Path(str(raw["extends"]))
    if not base_path.is_file():
        raise ConfigError(f"{where}: extends: {base_path} is not a file; give the base corpus's "
                          "recipe YAML (paths are relative to where you run the command)")
    base = CorpusRecipe.from_yaml(base_path)
    if base.extends is not None:
        raise ConfigError(f"{where}: extends: {base_path} itself extends {base.extends}; "
                          "extend the standalone base recipe instead")
    raw = {**raw, "speakers": dataclasses.asdict(base.speakers)}
    raw.setdefault("language", base.language)
    for section, key in _EXTENSION_ZEROS:
        values = dict(raw.get(section) or {})
        if values.get(key, 0) != 0:
            raise ConfigError(f"{where}: {section}.{key} must be 0 in a recipe with 'extends' "
                              "(it adds training items only; evaluation comes from the base)")
        values[key] = 0
        raw[section] = values
    prefix = (raw.get("sentences") or {}).get("id_prefix", "s")
    if prefix == base.sentences.id_prefix:
        raise ConfigError(f"{where}: sentences.id_prefix {prefix!r} is the base corpus's; "
                          "choose another so the two corpora's items never collide")
    if raw.get("language") != base.language:
        raise ConfigError(f"{where}: language {raw.get('language')!r} differs from the base "
                          f"corpus's {base.language!r}")
    return raw


def _require(ok: bool, where: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{where}: {message}")


def _validate(recipe: CorpusRecipe, where: str) -> None:
    s, sp, it, te = recipe.sentences, recipe.speakers, recipe.items, recipe.teachers
    # Both teachers read American English (Kokoro's en-us front end, Piper's en_US voice).
    _require(recipe.language == "en-us", where,
             f"language {recipe.language!r} is not supported; the teachers speak 'en-us'")
    # an extension holds nothing out (its base's evaluation splits are the held-out ones)
    _require(s.pool_size > 0 and s.train > 0 and (s.heldout > 0 or recipe.extends is not None),
             where, "sentences.pool_size, sentences.train and sentences.heldout must be positive")
    _require(s.id_prefix.isalnum(), where,
             f"sentences.id_prefix must be letters or digits, got {s.id_prefix!r}")
    _require(s.train + s.heldout <= s.pool_size, where,
             f"sentences.train + sentences.heldout ({s.train + s.heldout}) exceeds "
             f"sentences.pool_size ({s.pool_size})")
    _require(s.min_phone_count >= 0, where, "sentences.min_phone_count must be >= 0")
    _require(s.max_words >= 3, where, "sentences.max_words must be at least 3")
    unknown = [v for v in sp.kokoro_bases if v not in KOKORO_VOICES]
    _require(not unknown, where,
             f"speakers.kokoro_bases has unknown voice(s) {unknown}; "
             f"choose from {list(KOKORO_VOICES)}")
    _require(len(set(sp.kokoro_bases)) == len(sp.kokoro_bases), where,
             "speakers.kokoro_bases lists a voice twice")
    _require(sp.train_blends >= 0 and sp.heldout_blends >= 0, where,
             "speakers.train_blends and speakers.heldout_blends must be >= 0")
    _require(0.2 < sp.blend_max_weight <= 1.0, where,
             "speakers.blend_max_weight must be in (0.2, 1]")
    _require(0.0 <= sp.blend_min_distance < 1.0, where,
             "speakers.blend_min_distance must be in [0, 1)")
    _require(0.0 <= sp.low_blend_share <= 1.0, where, "speakers.low_blend_share must be in [0, 1]")
    _require(len(sp.low_blend_kumo) == 2 and 0 < min(sp.low_blend_kumo)
             and max(sp.low_blend_kumo) <= sp.blend_max_weight, where,
             "speakers.low_blend_kumo must be [low, high] within (0, blend_max_weight]")
    _require(len(sp.speed_range) == 2 and 0.5 <= min(sp.speed_range) <= max(sp.speed_range) <= 2.0,
             where, "speakers.speed_range must be [low, high] within [0.5, 2.0]")
    _require(sp.piper_length_scale > 0 and min(sp.piper_noise_scale, sp.piper_noise_w_scale) >= 0,
             where, "speakers.piper_* scales must be >= 0 (length_scale > 0)")
    n_train_speakers = len(sp.kokoro_bases) + sp.train_blends + int(sp.piper_joe)
    _require(n_train_speakers > 0, where, "no training speaker: add kokoro_bases, train_blends "
             "or piper_joe")
    _require(0 < it.per_train_speaker <= s.train, where,
             f"items.per_train_speaker must be in [1, sentences.train={s.train}]")
    _require(0 <= it.eval_seen_readings <= n_train_speakers, where,
             f"items.eval_seen_readings must be in [0, {n_train_speakers}] (the training speakers)")
    _require(0 <= it.per_heldout_speaker <= s.heldout, where,
             f"items.per_heldout_speaker must be in [0, sentences.heldout={s.heldout}]")
    _require(0.0 <= it.speed_jitter < 0.5, where, "items.speed_jitter must be in [0, 0.5)")
    _require(recipe.added_blends >= 0, where, "added_blends must be >= 0")
    _require(recipe.added_blends == 0 or recipe.extends is not None, where,
             "added_blends needs 'extends': new voices are added to a base corpus's")
    _require(0.0 <= recipe.added_blend_distance < 1.0, where,
             "added_blend_distance must be in [0, 1)")
    _require(not recipe.follows or recipe.extends is not None, where,
             "follows needs 'extends': it names other extensions of the same base corpus")
    _require(te.threads >= 1, where, "teachers.threads must be >= 1")
    _require(0.0 < te.peak <= 1.0, where, "teachers.peak must be in (0, 1]")
