"""``report.json``: what the corpus on disk holds, measured from the files, not from the plan.

Hours come from the WAV headers of items that exist, so a partial run reports what it has.
Phone coverage is computed over the planned text (it does not depend on synthesis), against
the inventory of every phone espeak-ng produced for the whole candidate pool.
"""
from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path

import soundfile as sf

from vall_e.data.corpus.coverage import coverage_summary, phone_counts
from vall_e.data.corpus.plan import SPLITS, CorpusPlan, PlanItem


def item_paths(output: Path, item: PlanItem) -> tuple[Path, Path]:
    base = output / item.id
    return base.with_name(base.name + ".wav"), base.with_name(base.name + ".txt")


def _durations(plan: CorpusPlan, output: Path) -> dict[str, float]:
    seconds = {}
    for item in plan.items:
        wav, txt = item_paths(output, item)
        if wav.is_file() and txt.is_file():
            info = sf.info(str(wav))
            seconds[item.id] = info.frames / info.samplerate
    return seconds


def _sentence_stats(texts: list[str]) -> dict:
    if not texts:  # an extension recipe holds no sentences out
        return {"count": 0}
    words = [len(t.split()) for t in texts]
    endings = Counter(t.rstrip()[-1] for t in texts)
    return {
        "count": len(texts),
        "words_min": min(words), "words_mean": round(statistics.mean(words), 2),
        "words_max": max(words),
        "questions": endings.get("?", 0), "exclamations": endings.get("!", 0),
        "statements": endings.get(".", 0),
    }


def _coverage(plan: CorpusPlan) -> dict:
    inventory = plan.pool_inventory
    train_items = [plan.phones[i.sentence_id] for i in plan.items if i.split == "train"]
    return {
        "unit": "espeak-ng en-us phone (stress, word boundaries and punctuation removed)",
        "inventory": inventory,
        "inventory_source": f"every phone in the {plan.pool_size}-sentence candidate pool",
        "train_sentences": coverage_summary(
            phone_counts(plan.phones[s] for s in plan.train_sentences), inventory),
        "train_items": coverage_summary(phone_counts(train_items), inventory),
        "heldout_sentences": coverage_summary(
            phone_counts(plan.phones[s] for s in plan.heldout_sentences), inventory),
    }


def build_report(plan: CorpusPlan, output: Path, failed: int = 0, generation: dict | None = None
                 ) -> dict:
    seconds = _durations(plan, output)
    hours, items, planned = {}, {}, Counter(item.split for item in plan.items)
    for split in SPLITS:
        done = [seconds[i.id] for i in plan.items if i.split == split and i.id in seconds]
        hours[split] = round(sum(done) / 3600, 4)
        items[split] = {"done": len(done), "planned": planned.get(split, 0)}
    hours["total"] = round(sum(seconds.values()) / 3600, 4)
    per_speaker = Counter()
    for item in plan.items:
        per_speaker[item.speaker] += seconds.get(item.id, 0.0)
    return {
        "complete": len(seconds) == len(plan.items),
        "items_done": len(seconds), "items_planned": len(plan.items), "items_failed": failed,
        "hours": hours,
        "items": items,
        "speakers": {
            "train": len(plan.train_speakers), "heldout": len(plan.heldout_speakers),
            "total": len(plan.speakers),
            "minutes": {s.name: round(per_speaker[s.name] / 60, 2) for s in plan.speakers},
        },
        "sentences": {
            "pool": plan.pool_size,
            "train": _sentence_stats([plan.sentences[s] for s in plan.train_sentences]),
            "heldout": _sentence_stats([plan.sentences[s] for s in plan.heldout_sentences]),
        },
        "phonemes": _coverage(plan),
        "generation": generation or {},
    }
