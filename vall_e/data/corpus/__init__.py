"""A multi-speaker English speech corpus made offline by teacher voices (issue 7, part 1).

``python -m vall_e.data.corpus --yaml recipes/corpus/default.yaml --output DIR`` writes
``DIR/train``, ``DIR/eval_seen`` and ``DIR/eval_unseen`` in the ``<speaker>/<id>.wav + .txt``
layout that ``python -m vall_e.data prepare`` reads. Roles, one module each:

- ``recipe``: the YAML recipe (strict keys);  ``sentences``/``lexicon``/``numbers``: the
  project's own sentence grammar;  ``coverage``: phone counting and coverage selection;
- ``speakers``: Kokoro base voices, seeded blends, Piper joe;  ``plan``: every item, up front;
- ``teachers``: Kokoro / Piper wrappers (lazy imports, one ONNX thread);  ``build``: the runner;
  ``report``: ``report.json``.

The teachers only make data: nothing at inference time imports this package.
"""
from vall_e.data.corpus.build import build_corpus
from vall_e.data.corpus.coverage import (
    coverage_summary,
    select_for_coverage,
    sentence_phones,
)
from vall_e.data.corpus.plan import CorpusPlan, PlanItem, make_plan
from vall_e.data.corpus.recipe import CorpusRecipe
from vall_e.data.corpus.sentences import generate_sentences
from vall_e.data.corpus.speakers import SpeakerSpec, make_speakers

__all__ = [
    "CorpusPlan",
    "CorpusRecipe",
    "PlanItem",
    "SpeakerSpec",
    "build_corpus",
    "coverage_summary",
    "generate_sentences",
    "make_plan",
    "make_speakers",
    "select_for_coverage",
    "sentence_phones",
]
