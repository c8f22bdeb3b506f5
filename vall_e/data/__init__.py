"""Data preparation and the on-disk format of prepared data.

- ``vall_e.data.shards``: ``Utterance``, ``ShardWriter``, ``load_prepared`` (phonemes + codec
  codes in pickle-free ``.npz`` shards tagged with the codec that made them).
- ``vall_e.data.prepare``: the module; its function ``prepare(config, input_dir, output_dir)``
  turns a corpus into shards, resumably. It is exported here as ``prepare_corpus`` because a
  package attribute named ``prepare`` would shadow the submodule (breaking
  ``import vall_e.data.prepare as m`` and ``monkeypatch.setattr("vall_e.data.prepare.x", ...)``).
- ``vall_e.data.synthetic``: ``make_synthetic_corpus``, a deterministic tone corpus (NOT speech).
"""
from vall_e.data.prepare import PrepareReport, SourceItem, discover
from vall_e.data.prepare import prepare as prepare_corpus
from vall_e.data.shards import (
    DataError,
    ShardWriter,
    Utterance,
    done_sources,
    failed_sources,
    load_prepared,
)
from vall_e.data.synthetic import make_synthetic_corpus

__all__ = [
    "DataError",
    "PrepareReport",
    "ShardWriter",
    "SourceItem",
    "Utterance",
    "discover",
    "done_sources",
    "failed_sources",
    "load_prepared",
    "make_synthetic_corpus",
    "prepare_corpus",
]
