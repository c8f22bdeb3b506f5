"""Speaker embedding offsets: a few KB per speaker, learned with the base frozen, selected at
inference with --speaker-offset / InterfaceConfig(speaker_offset=...), refused on another base."""
from pathlib import Path

import pytest
import torch

from tests.finetune.conftest import run_recipe
from tests.finetune.test_lora import ar_logits
from vall_e.errors import CheckpointError, ConfigError


@pytest.fixture(scope="module")
def llm_offset(tiny_llm_run, speaker_corpus, tmp_path_factory) -> dict:
    return run_recipe("speaker_offset", tiny_llm_run.checkpoint, speaker_corpus,
                      tmp_path_factory.mktemp("offset") / "run")


def test_offset_recipe_lowers_the_heldout_loss_with_a_few_kb(llm_offset, tiny_llm_run):
    from vall_e.finetune.offset import read_offset

    assert llm_offset["method"] == "offset" and llm_offset["final_loss"] < llm_offset["base_loss"]
    path = Path(llm_offset["artifact"])
    assert path.name == "spk00.offset.safetensors" and llm_offset["artifact_bytes"] < 4096
    vector, meta = read_offset(path)
    assert vector.shape == (32,) and vector.abs().max() > 0  # d_model of the tiny LLM
    assert meta["speaker"] == "spk00" and llm_offset["trainable_parameters"] == 32


def test_offset_is_selected_at_inference_and_changes_only_the_conditioning(llm_offset,
                                                                          tiny_llm_run):
    from vall_e.finetune.offset import read_offset
    from vall_e.inference.loader import load_engine

    plain = load_engine(tiny_llm_run.checkpoint, "cpu")
    tuned = load_engine(tiny_llm_run.checkpoint, "cpu", speaker_offset=llm_offset["artifact"])
    assert torch.equal(tuned.model.speaker_offset, read_offset(llm_offset["artifact"])[0])
    ids = torch.tensor([[1, 2, 9, 10, 3, 4, 12, 5, 6]])
    mask = torch.ones_like(ids)
    with torch.no_grad():
        first = [e.model(ids, mask).logits for e in (plain, tuned)]
        later = [e.model.lm(input_ids=ids).logits for e in (plain, tuned)]  # no offset path
    assert (first[0] - first[1]).abs().max() > 1e-4
    torch.testing.assert_close(later[0], later[1])


def test_synthesize_cli_takes_a_speaker_offset(llm_offset, tiny_llm_run, tmp_path):
    from vall_e.cli.synthesize import main

    ref = str(tiny_llm_run.reference())
    flags = ["--model", str(tiny_llm_run.checkpoint), "--max-ar-steps", "40", "--seed", "1",
             "--device", "cpu", "--quiet"]
    assert main(["Hi.", ref, str(tmp_path / "a.wav"), "--speaker-offset",
                 llm_offset["artifact"], *flags]) == 0
    assert (tmp_path / "a.wav").stat().st_size > 44
    with pytest.raises(ConfigError, match="one of them at a time"):
        main(["Hi.", ref, str(tmp_path / "b.wav"), "--speaker-offset", llm_offset["artifact"],
              "--lora", str(tmp_path), *flags])


def test_an_offset_for_another_base_or_a_wrong_file_is_refused(llm_offset, tiny_run, tmp_path):
    from vall_e import Interface, InterfaceConfig

    with pytest.raises(CheckpointError, match="trained on an LLM-TTS model"):
        Interface(InterfaceConfig(model_path=str(tiny_run.checkpoint), device="cpu",
                              speaker_offset=llm_offset["artifact"]))
    with pytest.raises(CheckpointError, match="is a directory, not a"):
        Interface(InterfaceConfig(model_path=str(tiny_run.checkpoint), device="cpu",
                              speaker_offset=str(tmp_path)))
    with pytest.raises(CheckpointError, match="not a speaker offset"):
        Interface(InterfaceConfig(model_path=str(tiny_run.checkpoint), device="cpu",
                              speaker_offset=str(tiny_run.checkpoint / "model.safetensors")))


def test_ar_nar_offset_starts_at_the_base_and_shifts_the_conditioning(tiny_run, tmp_path):
    from vall_e.finetune.base import load_base
    from vall_e.finetune.offset import add_offset, apply_offset, save_offset

    base = load_base(tiny_run.checkpoint)
    with torch.no_grad():
        before = ar_logits(base.model.eval())
        model = add_offset(base).eval()
        torch.testing.assert_close(ar_logits(model), before)  # zero offset: the base exactly
        model.speaker_offset.add_(0.05)
        shifted = ar_logits(model)
    assert (shifted - before).abs().max() > 1e-4
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["speaker_offset"]
    path = save_offset(tmp_path / "x.offset.safetensors", model, base, "x", {})
    fresh = load_base(tiny_run.checkpoint).model.eval()
    apply_offset(fresh, "ar_nar", tiny_run.checkpoint, path)
    with torch.no_grad():
        torch.testing.assert_close(ar_logits(fresh), shifted)


def test_a_fine_tune_resumes_from_a_resume_file_without_the_frozen_base(tiny_run, speaker_corpus,
                                                                        tmp_path):
    from vall_e.finetune.config import FinetuneConfig
    from vall_e.finetune.recipe import finetune

    torch.set_num_threads(1)
    raw = {"base": str(tiny_run.checkpoint), "speaker_data": str(speaker_corpus),
           "method": "offset", "train": {"output_dir": str(tmp_path / "run"), "max_steps": 2,
                                         "batch_size": 4, "checkpoint_every_n_steps": 2}}
    first = finetune(FinetuneConfig.from_dict(raw), progress=False)
    state = torch.load(tmp_path / "run" / "lightning" / "last.ckpt", weights_only=True)
    assert list(state["state_dict"]) == ["model.speaker_offset"]  # not the frozen base
    with pytest.raises(ConfigError, match="--resume"):
        finetune(FinetuneConfig.from_dict(raw), progress=False)
    raw["train"]["max_steps"] = 4
    resumed = finetune(FinetuneConfig.from_dict(raw), resume=True, progress=False)
    assert (first.steps, resumed.steps) == (2, 4)
    from vall_e.models.checkpoint import load_checkpoint, save_checkpoint

    other = load_checkpoint(tiny_run.checkpoint)
    with torch.no_grad():
        other.model.norm.weight.mul_(1.01)
    save_checkpoint(tmp_path / "other", other.model, other.config, other.tokenizer,
                    other.codec_info)
    raw["base"], raw["train"]["max_steps"] = str(tmp_path / "other"), 6
    with pytest.raises(ConfigError, match="started on another base model"):
        finetune(FinetuneConfig.from_dict(raw), resume=True, progress=False)
