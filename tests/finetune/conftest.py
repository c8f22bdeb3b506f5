"""Fixtures for the fine-tuning tests: a new synthetic speaker and a runner for the recipes.

The bases are the session's tiny trained models (``tiny_run``, ``tiny_llm_run``); the speaker
is a voice neither was trained on (another seed of ``vall_e.data.synthetic``). Each recipe in
``recipes/finetune/`` runs as written, with only its paths and length overridden by the same
flags a user has (--base, --data, --output-dir, --max-steps).
"""
import json
from pathlib import Path

import pytest

from tests.conftest import REPO

RECIPES = REPO / "recipes" / "finetune"
STEPS = 20


@pytest.fixture(scope="session")
def speaker_corpus(tmp_path_factory) -> Path:
    from vall_e.data.synthetic import make_synthetic_corpus

    return make_synthetic_corpus(tmp_path_factory.mktemp("speaker") / "corpus", n_speakers=1,
                                 n_utterances=10, seed=11)


def run_recipe(name: str, base: Path, corpus: Path, out: Path, steps: int = STEPS) -> dict:
    """Run ``recipes/finetune/<name>.yaml`` through the CLI in-process; returns its report."""
    import torch

    from vall_e.cli.finetune import main

    torch.set_num_threads(1)
    argv = ["--yaml", str(RECIPES / f"{name}.yaml"), "--base", str(base), "--data", str(corpus),
            "--output-dir", str(out), "--max-steps", str(steps), "--quiet"]
    assert main(argv) == 0
    return json.loads((out / "finetune_report.json").read_text())


@pytest.fixture(scope="session")
def ar_nar_lora(tiny_run, speaker_corpus, tmp_path_factory) -> dict:
    """lora_ar_nar.yaml on the tiny AR+NAR model, through `python -m vall_e.finetune`."""
    from tests.conftest import run_module

    out = tmp_path_factory.mktemp("lora_ar_nar") / "run"
    run_module("vall_e.finetune", "--yaml", str(RECIPES / "lora_ar_nar.yaml"),
               "--base", str(tiny_run.checkpoint), "--data", str(speaker_corpus),
               "--output-dir", str(out), "--max-steps", str(STEPS), "--quiet")
    return json.loads((out / "finetune_report.json").read_text())


@pytest.fixture(scope="session")
def llm_lora(tiny_llm_run, speaker_corpus, tmp_path_factory) -> dict:
    return run_recipe("lora_llm", tiny_llm_run.checkpoint, speaker_corpus,
                      tmp_path_factory.mktemp("lora_llm") / "run")
