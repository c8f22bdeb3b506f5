"""The plan: every item of the corpus (id, text, speaker, teacher settings), computed up front
from the recipe alone, before any audio is made.

Splits (nothing held out ever reaches ``train``):
- ``train``: training speakers reading training sentences;
- ``eval_seen``: held-out sentences read by training speakers (text generalization);
- ``eval_unseen``: held-out sentences read by held-out speakers, blends whose weights no
  training speaker has (zero-shot voice cloning).

Held-out sentences are a seeded random sample of the candidate pool, so evaluation text has the
grammar's natural mix; training sentences are then chosen from the rest by the coverage
selection. Item ``split/speaker/sentence_id`` is written as ``<out>/<split>/<speaker>/<sentence
id>.wav`` + ``.txt``; each item's random settings come from a generator seeded with its own id,
so they do not depend on the order in which items are made (or on ``--limit``).
"""
from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vall_e.data.corpus.coverage import select_for_coverage, sentence_phones
from vall_e.data.corpus.recipe import CorpusRecipe
from vall_e.data.corpus.sentences import generate_sentences
from vall_e.data.corpus.speakers import SpeakerSpec, add_blends, make_speakers
from vall_e.errors import DataError

SPLITS = ("train", "eval_seen", "eval_unseen")
PLAN_FILE = "plan.jsonl"


@dataclass(frozen=True)
class PlanItem:
    id: str  # "<split>/<speaker>/<sentence_id>", also the path of its files without extension
    split: str
    speaker: str
    sentence_id: str
    text: str
    teacher: str
    settings: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)


@dataclass
class CorpusPlan:
    recipe: CorpusRecipe
    speakers: list[SpeakerSpec]
    sentences: dict[str, str]  # sentence id -> text, for train and held-out sentences
    train_sentences: list[str]  # ids, in selection order
    heldout_sentences: list[str]
    items: list[PlanItem]
    pool_size: int
    pool_inventory: list[str]  # every phone in the candidate pool
    phones: dict[str, list[str]]  # sentence id -> phones (train and held-out only)

    @property
    def train_speakers(self) -> list[str]:
        return [s.name for s in self.speakers if not s.heldout]

    @property
    def heldout_speakers(self) -> list[str]:
        return [s.name for s in self.speakers if s.heldout]

    def splits(self) -> dict:
        return {
            "dirs": {split: split for split in SPLITS},
            "train_speakers": self.train_speakers,
            "heldout_speakers": self.heldout_speakers,
            "train_sentence_ids": sorted(self.train_sentences),
            "heldout_sentence_ids": sorted(self.heldout_sentences),
            "speakers": {s.name: s.to_dict() for s in self.speakers},
        }


def _window(order: list[str], start: int, length: int) -> list[str]:
    """``length`` consecutive entries of ``order`` read as a cycle: never the same entry twice
    when ``length <= len(order)``, and consecutive windows use every entry equally often."""
    return [order[(start + j) % len(order)] for j in range(length)]


def _settings(recipe: CorpusRecipe, speaker: SpeakerSpec, item_id: str) -> dict:
    rng = random.Random(f"{recipe.seed}:{item_id}")
    if speaker.teacher == "kokoro":
        jitter = recipe.items.speed_jitter
        speed = speaker.speed * (1.0 + rng.uniform(-jitter, jitter))
        return {"weights": dict(speaker.weights), "speed": round(min(max(speed, 0.5), 2.0), 4)}
    return {"length_scale": speaker.length_scale, "noise_scale": speaker.noise_scale,
            "noise_w_scale": speaker.noise_w_scale, "seed": rng.randrange(2**31)}


def _assign(recipe, speakers, train_ids, heldout_ids) -> list[tuple[str, SpeakerSpec, str]]:
    """(split, speaker, sentence id) triples in the order they will be synthesized."""
    rng = random.Random(f"{recipe.seed}:assign")
    train_order = sorted(train_ids)
    rng.shuffle(train_order)
    heldout_order = sorted(heldout_ids)
    rng.shuffle(heldout_order)
    train_speakers = [s for s in speakers if not s.heldout]
    per = recipe.items.per_train_speaker
    per_train = [_window(train_order, k * per, per) for k in range(len(train_speakers))]
    # The evaluation splits come first: they are small, so a run stopped early already has them.
    out = []
    per_held = recipe.items.per_heldout_speaker
    for k, speaker in enumerate(s for s in speakers if s.heldout):
        sentences = _window(heldout_order, k * per_held, per_held)
        out += [("eval_unseen", speaker, sid) for sid in sentences]
    readings = recipe.items.eval_seen_readings
    for j, sid in enumerate(heldout_order):
        for t in range(readings):
            out.append(("eval_seen", train_speakers[(j * readings + t) % len(train_speakers)], sid))
    # Training items go round-robin over speakers, so a partial corpus is balanced.
    for j in range(per):
        out += [("train", speaker, per_train[k][j]) for k, speaker in enumerate(train_speakers)]
    return out


def _speakers_and_excluded(recipe: CorpusRecipe) -> tuple[list[SpeakerSpec], set[str]]:
    """The recipe's speakers and the sentence texts it may not use.

    A standalone recipe draws its own speakers and may use any sentence. An extension reuses
    its base's training speakers (same names, weights and rates), or with ``added_blends``
    reads with that many new blends instead, and excludes every sentence its base chose,
    training and held out alike, so the base's evaluation text stays unseen. The extensions it
    ``follows`` count as part of the base: their voices come before its new blends and their
    sentences are excluded too.
    """
    base = recipe.base()
    if base is None:
        return make_speakers(recipe.speakers, recipe.seed), set()
    base_plan = make_plan(base)
    earlier = list(base_plan.speakers)
    excluded = set(base_plan.sentences.values())
    for path in recipe.follows:
        sibling = CorpusRecipe.from_yaml(path)
        if sibling.extends is None or Path(sibling.extends).resolve() != Path(recipe.extends).resolve():
            raise DataError(f"follows: {path} does not extend {recipe.extends}; list only other "
                            "extensions of the same base corpus")
        sibling_plan = make_plan(sibling)
        names = {s.name for s in earlier}
        earlier += [s for s in sibling_plan.speakers if s.name not in names]
        excluded |= set(sibling_plan.sentences.values())
    if recipe.added_blends:
        speakers = add_blends(earlier, recipe.added_blends, recipe.speakers, recipe.seed,
                              recipe.added_blend_distance)
    else:
        speakers = [s for s in base_plan.speakers if not s.heldout]
    return speakers, excluded


def make_plan(recipe: CorpusRecipe) -> CorpusPlan:
    """Compute the whole corpus plan; a pure function of ``recipe`` (and, for an extension,
    of the base recipe it names)."""
    cfg = recipe.sentences
    speakers, excluded = _speakers_and_excluded(recipe)
    pool = [text for text in generate_sentences(cfg.pool_size, seed=recipe.seed,
                                                max_words=cfg.max_words) if text not in excluded]
    if len(pool) < cfg.train + cfg.heldout:
        raise DataError(f"only {len(pool)} candidate sentences are left after removing the base "
                        f"corpus's; raise sentences.pool_size above {cfg.pool_size}")
    pool_phones = [sentence_phones(text, recipe.language) for text in pool]
    ids = [f"{cfg.id_prefix}{index:05d}" for index in range(len(pool))]
    heldout_rng = random.Random(f"{recipe.seed}:heldout")
    heldout_idx = sorted(heldout_rng.sample(range(len(pool)), cfg.heldout))
    held = set(heldout_idx)
    rest = [i for i in range(len(pool)) if i not in held]
    picked = select_for_coverage([pool_phones[i] for i in rest], cfg.train, cfg.min_phone_count,
                                 seed=recipe.seed)
    train_idx = [rest[i] for i in picked]
    chosen = train_idx + heldout_idx
    train_ids = [ids[i] for i in train_idx]
    heldout_ids = [ids[i] for i in heldout_idx]
    texts = {ids[i]: pool[i] for i in chosen}
    items = []
    for split, speaker, sid in _assign(recipe, speakers, train_ids, heldout_ids):
        item_id = f"{split}/{speaker.name}/{sid}"
        items.append(PlanItem(item_id, split, speaker.name, sid, texts[sid], speaker.teacher,
                              _settings(recipe, speaker, item_id)))
    return CorpusPlan(
        recipe=recipe, speakers=speakers, sentences=texts, train_sentences=train_ids,
        heldout_sentences=heldout_ids, items=items, pool_size=len(pool),
        pool_inventory=sorted({p for phones in pool_phones for p in phones}),
        phones={ids[i]: pool_phones[i] for i in chosen},
    )


def write_plan(plan: CorpusPlan, output: Path) -> None:
    """Write ``plan.jsonl``, or check that the one already there is this plan.

    A different plan in the same directory means the recipe (or the sentence generator) changed
    since the files there were made; mixing the two would silently break the held-out split.
    """
    path = output / PLAN_FILE
    text = "".join(item.to_json() + "\n" for item in plan.items)
    if path.exists():
        if path.read_text(encoding="utf-8") != text:
            raise DataError(
                f"{path} was written by a different recipe (or code version); resume with the "
                "same recipe, or use a new --output directory"
            )
        return
    output.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{PLAN_FILE}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def read_plan_items(path: str | Path) -> list[PlanItem]:
    """The items of a written plan: ``path`` is a ``plan.jsonl`` or the corpus directory
    holding one."""
    path = Path(path)
    if path.is_dir():
        path = path / PLAN_FILE
    if not path.is_file():
        raise DataError(f"corpus plan not found: {path}; give the plan.jsonl that "
                        "python -m vall_e.data.corpus wrote (or its output directory)")
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(PlanItem(**json.loads(line)))
        except (ValueError, TypeError) as exc:
            raise DataError(f"{path}, line {number}, is not a corpus plan item ({exc}); give "
                            "the plan.jsonl that python -m vall_e.data.corpus wrote") from None
    return items
