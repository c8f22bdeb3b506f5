"""The teacher's own reading of the evaluation sentences: the ceiling on the items a model is
scored on.

``--originals`` judges each reference against its own transcript, a different (and harder)
text than the ``--sentences`` a model speaks, so its WER is no floor for a model's. When the
references come from our synthetic corpus, the corpus plan records which teacher spoke each one
and with what settings (voice blend, speed); ``evaluate_teacher`` has that teacher speak every
sentence in every reference's voice and judges it exactly as ``evaluate_model`` judges a
model, so the two tables compare like with like (WER on the same words, similarity against the
same references).

This is the one module outside ``vall_e/data/corpus`` allowed to import the teachers
(``tests/data/corpus/test_no_teacher_at_inference.py``): it scores them as a baseline and is
imported only by the evaluation command, never by anything that synthesizes for a model.
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

import torch

from vall_e.data.corpus.plan import PlanItem, read_plan_items
from vall_e.errors import DataError
from vall_e.eval.run import Reference, embed_references, score_item, to_judge_rate


def plan_item_for(ref: Reference, items: Sequence[PlanItem]) -> PlanItem:
    """The plan item that made ``ref`` (its id ends with the reference's path, e.g.
    ``eval_unseen/kokoro_blend_16/s00222`` for ``kokoro_blend_16/s00222``)."""
    found = [item for item in items if item.id == ref.name or item.id.endswith("/" + ref.name)]
    if len(found) != 1:
        what = "is not in" if not found else f"matches {len(found)} items of"
        raise DataError(f"reference {ref.name} {what} the corpus plan; --teacher needs "
                        "references made by python -m vall_e.data.corpus with that plan")
    return found[0]


def evaluate_teacher(sentences: Sequence[str], refs: Sequence[Reference], judges,
                     items: Sequence[PlanItem], teachers: dict,
                     progress: Callable[[str], None] | None = None) -> list[dict]:
    """One row per (reference, sentence): the teacher that spoke the reference, with the same
    settings, speaking the sentence. ``teachers`` maps a plan's teacher name to an object with
    ``sample_rate`` and ``synthesize(text, settings) -> waveform``
    (``vall_e.data.corpus.teachers.make_teachers``)."""
    chosen = {ref.name: plan_item_for(ref, items) for ref in refs}  # every ref checked first
    missing = sorted({item.teacher for item in chosen.values()} - set(teachers))
    if missing:
        raise DataError(f"the plan names teacher(s) {missing} that this evaluation has no "
                        f"voice for (known: {sorted(teachers)})")
    embeddings = embed_references(refs, judges)
    spoken = []
    for ref in refs:
        item = chosen[ref.name]
        teacher = teachers[item.teacher]
        for text in sentences:
            row = {"reference": ref.name, "speaker": ref.speaker, "error": None,
                   "teacher": item.teacher, "ar_steps": None}
            start = time.perf_counter()
            audio = torch.as_tensor(teacher.synthesize(text, item.settings), dtype=torch.float32)
            row.update(synthesis_seconds=time.perf_counter() - start,
                       audio_seconds=audio.numel() / teacher.sample_rate)
            spoken.append((row, text, to_judge_rate(audio, teacher.sample_rate), ref))
            if progress:
                progress(f"{ref.name}: {text[:40]}")
    return [score_item(row, text, audio16, judges, ref, refs, embeddings)
            for row, text, audio16, ref in spoken]


def evaluate_teacher_plan(sentences: Sequence[str], refs: Sequence[Reference], judges,
                          plan: str, threads: int = 1,
                          progress: Callable[[str], None] | None = None) -> list[dict]:
    """``evaluate_teacher`` with the items of the corpus plan ``plan`` (a ``plan.jsonl`` or its
    corpus directory) and the corpus's own teachers, loaded with ``threads`` threads."""
    from vall_e.data.corpus.teachers import make_teachers

    return evaluate_teacher(sentences, refs, judges, read_plan_items(plan),
                            make_teachers(threads=max(threads, 1)), progress=progress)
