"""Training the LLM-TTS family through the shared Lightning trainer."""
import pytest
import torch

from tests.test_end_to_end import read_metrics
from vall_e.config import Config
from vall_e.errors import CodecMismatchError, ConfigError
from vall_e.models.llm_layouts import FlatLayout
from vall_e.models.llm_tts import LLMTTSModel, build_llama
from vall_e.text.tokenizer import PhonemeTokenizer
from vall_e.training.llm_dataset import SequenceCollator, SequenceExample


def test_llm_training_loss_goes_down(tiny_llm_run):
    rows = read_metrics(tiny_llm_run.run_dir)
    losses = [float(r["train/loss"]) for r in rows if r.get("train/loss")]
    assert len(losses) >= 5
    assert sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3
    assert any(r.get("val/acc") for r in rows)
    meta = (tiny_llm_run.checkpoint / "vall_e.json").read_text()
    assert '"family": "llm"' in meta and '"step": 60' in meta


def test_collator_marks_speech_targets():
    batch = SequenceCollator(pad_id=0)([SequenceExample(torch.tensor([5, 6, 7, 8]), 2),
                                        SequenceExample(torch.tensor([5, 9]), 1)])
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8], [5, 9, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert batch["speech_mask"].tolist() == [[False, False, True, True], [False, True, False, False]]


def tiny_model():
    config = Config.from_dict({"model": {"family": "llm", "layout": "flat", "d_model": 16,
                                         "n_layers": 1, "n_heads": 2}})
    layout = FlatLayout(PhonemeTokenizer(["a"]), "phonemes", 1, 8)
    return LLMTTSModel(build_llama(config.model, layout.vocab_size, 0, 1, 7), layout).eval()


def test_text_loss_weight_scores_the_prompt_only_when_asked():
    torch.manual_seed(0)
    model = tiny_model()
    ids = torch.tensor([[1, 2, 4, 8, 5, 6, 13, 14, 7]])
    attention = torch.ones_like(ids)
    speech = torch.tensor([[False] * 6 + [True] * 3])
    speech_only, _ = model.loss(ids, attention, speech, text_weight=0.0)
    with_text, _ = model.loss(ids, attention, speech, text_weight=1.0)
    everything, _ = model.loss(ids, attention, torch.ones_like(speech), text_weight=0.0)
    assert not torch.isclose(speech_only, with_text)
    assert torch.isclose(with_text, everything)  # weight 1 on text = every target scored


def test_llm_config_validation():
    with pytest.raises(ConfigError, match="model.layout must be one of"):
        Config.from_dict({"model": {"family": "llm"}})
    with pytest.raises(ConfigError, match="orpheus needs model.base_model"):
        Config.from_dict({"model": {"family": "llm", "layout": "orpheus"}})
    with pytest.raises(ConfigError, match="are for model.family: llm"):
        Config.from_dict({"model": {"layout": "flat"}})
    with pytest.raises(ConfigError, match="family llm trains tts only"):
        Config.from_dict({"model": {"family": "llm", "layout": "flat", "tasks": ["tts", "stt"]}})


def test_orpheus_layout_refuses_non_snac_data(tiny_run, orpheus_dir, tmp_path):
    from vall_e.training.train import train

    config = Config.from_dict({
        "model": {"family": "llm", "layout": "orpheus", "base_model": str(orpheus_dir)},
        "codec": {"name": "encodec", "n_levels": 2},
        "data": {"path": str(tiny_run.data)},
        "train": {"output_dir": str(tmp_path / "run"), "max_steps": 1}})
    with pytest.raises(CodecMismatchError, match="SNAC"):
        train(config, progress=False)


@pytest.mark.slow  # trains a model
def test_orpheus_layout_fine_tunes_from_a_base_model_on_snac_data(orpheus_dir, snac_dir, tmp_path):
    """The Orpheus path end to end: SNAC shards -> fine-tune the base model -> a checkpoint
    whose voices are the corpus speakers, spoken with the "{voice}: {text}" prompt."""
    from vall_e import GenerationConfig, Interface, InterfaceConfig, SamplerConfig
    from vall_e.data.prepare import prepare
    from vall_e.data.synthetic import make_synthetic_corpus
    from vall_e.training.train import train

    corpus = make_synthetic_corpus(tmp_path / "corpus", n_speakers=2, n_utterances=2, seed=3)
    config = Config.from_dict({
        "model": {"family": "llm", "layout": "orpheus", "base_model": str(orpheus_dir),
                  "max_positions": 2048},
        "codec": {"name": "snac", "path": str(snac_dir), "n_levels": 7},
        "data": {"path": str(tmp_path / "data"), "val_fraction": 0.25},
        "train": {"output_dir": str(tmp_path / "run"), "max_steps": 2, "batch_size": 2,
                  "val_every_n_steps": 2, "checkpoint_every_n_steps": 2, "warmup_steps": 1}})
    prepare(config, corpus, tmp_path / "data", progress=False)
    latest = train(config, progress=False)
    interface = Interface(InterfaceConfig(model_path=str(latest), codec_path=str(snac_dir), device="cpu"))
    speakers = sorted(p.name for p in corpus.iterdir() if p.is_dir())
    assert list(interface.voices) == speakers
    out = interface.generate(GenerationConfig(
        text="Hi.", speaker=interface.named_speaker(speakers[0]),
        sampler_config=SamplerConfig(temperature=0, seed=0), max_length=60))
    assert out.duration > 0 and out.results[0].codes.shape[0] == 7
