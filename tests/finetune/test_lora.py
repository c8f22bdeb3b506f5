"""LoRA (peft) on both families: the recipes lower the new speaker's held-out loss, the merged
checkpoint computes what the adapter-on model computes, inference takes --lora /
InterfaceConfig(lora=...), and an adapter is refused on any base but its own."""
from pathlib import Path

import pytest
import torch

from vall_e.errors import CheckpointError, ConfigError
from vall_e.finetune.base import load_base
from vall_e.finetune.config import LoraSettings
from vall_e.finetune.merge import merge_lora


def ar_logits(model, seed: int = 0) -> torch.Tensor:
    """Level-0 logits of one fixed AR sequence (text, prompt, response)."""
    g = torch.Generator().manual_seed(seed)
    n_text = model.text_embedding.num_embeddings
    text = torch.randint(0, n_text, (6,), generator=g)
    prompt = torch.randint(0, model.codebook_size, (model.n_levels, 5), generator=g)
    response = torch.randint(0, model.codebook_size, (model.n_levels, 8), generator=g)
    seq = torch.cat([model.tts_prefix(0, text, prompt), model.code_embeddings[0](response[0])])
    length = seq.shape[0]
    hidden = model.hidden_states(seq[None], torch.arange(length)[None],
                                 torch.ones(1, length, dtype=torch.bool), causal=True)
    return model.level_logits(hidden, 0)


def adapter_on(base_dir: Path, adapter: Path):
    """The base with the adapter attached but NOT merged (peft's forward with LoRA active)."""
    from peft import PeftModel

    base = load_base(base_dir)
    target = base.model if base.family == "ar_nar" else base.model.lm
    return base, PeftModel.from_pretrained(target, str(adapter)).eval()


def test_lora_ar_nar_recipe_lowers_the_heldout_loss(ar_nar_lora, tiny_run):
    report = ar_nar_lora
    assert report["method"] == "lora" and report["family"] == "ar_nar"
    assert report["final_loss"] < report["base_loss"]
    adapter = Path(report["artifact"])
    assert {"adapter_config.json", "adapter_model.safetensors", "vall_e_adapter.json"} <= \
        {p.name for p in adapter.iterdir()}
    base_bytes = (tiny_run.checkpoint / "model.safetensors").stat().st_size
    assert report["artifact_bytes"] < base_bytes / 5
    assert report["steps"] == 20 and report["steps_per_second"] > 0


def test_merged_ar_nar_checkpoint_equals_the_adapter_on_model(ar_nar_lora, tiny_run, tmp_path):
    from vall_e.models.checkpoint import load_checkpoint

    adapter = Path(ar_nar_lora["artifact"])
    base, unmerged = adapter_on(tiny_run.checkpoint, adapter)
    merged_dir = merge_lora(tiny_run.checkpoint, adapter, tmp_path / "merged")
    merged = load_checkpoint(merged_dir).model
    plain = load_checkpoint(tiny_run.checkpoint).model
    with torch.no_grad():
        expected, got, before = ar_logits(unmerged), ar_logits(merged), ar_logits(plain)
    assert (expected - before).abs().max() > 1e-3  # the adapter changes the model
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


def test_export_cli_merges_the_adapter(ar_nar_lora, tiny_run, tmp_path):
    from vall_e.cli.export import main
    from vall_e.models.checkpoint import load_checkpoint

    adapter = Path(ar_nar_lora["artifact"])
    out = tmp_path / "exported"
    assert main(["--model", str(tiny_run.checkpoint), "--merge-lora", str(adapter), "--out",
                 str(out), "--dtype", "float32", "--quiet"]) == 0
    _, unmerged = adapter_on(tiny_run.checkpoint, adapter)
    with torch.no_grad():
        torch.testing.assert_close(ar_logits(load_checkpoint(out).model), ar_logits(unmerged),
                                   atol=1e-5, rtol=1e-4)


def test_synthesize_with_lora_equals_the_merged_checkpoint(ar_nar_lora, tiny_run, tmp_path):
    from vall_e.audio import load_audio
    from vall_e.cli.synthesize import main

    adapter = ar_nar_lora["artifact"]
    merged = merge_lora(tiny_run.checkpoint, adapter, tmp_path / "merged")
    flags = ["--max-ar-steps", "12", "--seed", "3", "--device", "cpu", "--quiet"]
    ref = str(tiny_run.reference())
    main(["Hello.", ref, str(tmp_path / "a.wav"), "--model", str(tiny_run.checkpoint),
          "--lora", adapter, *flags])
    main(["Hello.", ref, str(tmp_path / "b.wav"), "--model", str(merged), *flags])
    main(["Hello.", ref, str(tmp_path / "c.wav"), "--model", str(tiny_run.checkpoint), *flags])
    a, b, c = (load_audio(tmp_path / f"{n}.wav", 24000) for n in "abc")
    assert torch.equal(a, b)
    assert a.shape != c.shape or not torch.equal(a, c)


def test_an_adapter_for_another_base_is_refused(ar_nar_lora, tiny_run, tiny_llm_run, tmp_path):
    from vall_e import Interface, InterfaceConfig
    from vall_e.models.checkpoint import load_checkpoint, save_checkpoint

    adapter = ar_nar_lora["artifact"]
    other = load_checkpoint(tiny_run.checkpoint)
    with torch.no_grad():
        other.model.norm.weight.mul_(1.01)  # same shapes, other weights: another base
    save_checkpoint(tmp_path / "other", other.model, other.config, other.tokenizer,
                    other.codec_info)
    with pytest.raises(CheckpointError, match="trained on another base model.*fingerprint"):
        merge_lora(tmp_path / "other", adapter, tmp_path / "merged")
    with pytest.raises(CheckpointError, match="another base model"):
        Interface(InterfaceConfig(model_path=str(tmp_path / "other"), lora=adapter, device="cpu"))
    with pytest.raises(CheckpointError, match="trained on an AR\\+NAR model.*LLM-TTS"):
        merge_lora(tiny_llm_run.checkpoint, adapter, tmp_path / "merged")
    with pytest.raises(CheckpointError, match="not a vall_e LoRA adapter"):
        merge_lora(tiny_run.checkpoint, tmp_path, tmp_path / "merged")
    with pytest.raises(ConfigError, match="overwrite its base"):
        merge_lora(tiny_run.checkpoint, adapter, tiny_run.checkpoint)


def test_lora_llm_recipe_lowers_the_heldout_loss_and_merges_exactly(llm_lora, tiny_llm_run,
                                                                   tmp_path):
    from vall_e.models.llm_checkpoint import load_llm_checkpoint

    assert llm_lora["family"] == "llm" and llm_lora["final_loss"] < llm_lora["base_loss"]
    adapter = Path(llm_lora["artifact"])
    base, unmerged = adapter_on(tiny_llm_run.checkpoint, adapter)
    merged = load_llm_checkpoint(merge_lora(tiny_llm_run.checkpoint, adapter, tmp_path / "m"))
    layout = base.model.layout
    ids = torch.randint(0, layout.vocab_size, (2, 30), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = unmerged(input_ids=ids).logits
        got = merged.model.lm(input_ids=ids).logits
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    lm = merged.model.lm  # the audio rows were trained; the tie to the output layer holds
    assert lm.lm_head.weight.data_ptr() == lm.get_input_embeddings().weight.data_ptr()


def test_interface_loads_an_llm_adapter(llm_lora, tiny_llm_run):
    from vall_e import GenerationConfig, Interface, InterfaceConfig, SamplerConfig

    interface = Interface(InterfaceConfig(model_path=str(tiny_llm_run.checkpoint),
                                      lora=llm_lora["artifact"], device="cpu"))
    speaker = interface.create_speaker(tiny_llm_run.reference())
    out = interface.generate(GenerationConfig(text="Hi.", speaker=speaker, max_length=400,
                                              sampler_config=SamplerConfig(temperature=0, seed=0)))
    assert out.duration > 0


def test_target_modules_by_regex_and_a_pattern_that_matches_nothing(tiny_run):
    from vall_e.finetune.lora import add_lora

    base = load_base(tiny_run.checkpoint)
    wrapped = add_lora(base, LoraSettings(rank=2, target_modules=r"blocks\.1\.attn\.qkv"))
    names = [n for n, p in wrapped.named_parameters() if p.requires_grad]
    assert names and all("blocks.1.attn.qkv.lora_" in n for n in names)
    with pytest.raises(ConfigError, match="matches no layer.*'qkv'"):
        add_lora(load_base(tiny_run.checkpoint), LoraSettings(target_modules=["q_proj"]))


def test_train_embeddings_adds_the_audio_embeddings_and_heads(tiny_run):
    from vall_e.finetune.lora import add_lora

    base = load_base(tiny_run.checkpoint)
    wrapped = add_lora(base, LoraSettings(rank=2, train_embeddings=True))
    trainable = {n for n, p in wrapped.named_parameters() if p.requires_grad}
    assert any("code_embeddings.1.modules_to_save" in n for n in trainable)
    assert any("heads.0.modules_to_save" in n for n in trainable)
    assert not any("text_embedding" in n for n in trainable)
