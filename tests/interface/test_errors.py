"""Bad generation requests fail early with one clear line."""
import pytest

from vall_e import GenerationConfig, GenerationType, Interface, InterfaceConfig, SamplerConfig
from vall_e.errors import ConfigError, SamplingError, TextError
from vall_e.sampling import SamplingParams


def test_over_long_text_for_one_utterance(llm_interface, llm_speaker):
    long_text = "word " * 400
    with pytest.raises(TextError, match="CHUNKED"):
        llm_interface.generate(GenerationConfig(text=long_text, speaker=llm_speaker))
    with pytest.raises(TextError, match="at most 100000"):
        llm_interface.generate(GenerationConfig(text="a" * 100_001, speaker=llm_speaker,
                                                generation_type=GenerationType.CHUNKED))


def test_empty_text(llm_interface, llm_speaker):
    for text in ("", "   ", [], [""]):
        with pytest.raises(TextError, match="empty"):
            llm_interface.generate(GenerationConfig(text=text, speaker=llm_speaker))


def test_max_length_overflow(llm_interface, llm_speaker):
    with pytest.raises(TextError, match="max_length 40"):
        llm_interface.generate(GenerationConfig(text="Hello.", speaker=llm_speaker, max_length=40))
    with pytest.raises(ConfigError, match="exceeds the model's 2048 positions"):
        llm_interface.generate(GenerationConfig(text="Hello.", speaker=llm_speaker, max_length=5000))
    with pytest.raises(ConfigError, match="max_length must be positive"):
        llm_interface.generate(GenerationConfig(text="Hello.", speaker=llm_speaker, max_length=0))


def test_ar_nar_only_flags_are_refused_for_llm_models(llm_interface, llm_speaker):
    for flag in ("layer_skip", "refine_on_stop", "input_prompt_prefix"):
        config = GenerationConfig(text="Hi.", speaker=llm_speaker, max_length=260,
                                  sampler_config=SamplingParams(**{flag: True}))
        with pytest.raises(SamplingError, match="AR\\+NAR models only"):
            llm_interface.generate(config)
    with pytest.raises(SamplingError, match="top-p"):
        llm_interface.generate(GenerationConfig(text="Hi.", speaker=llm_speaker,
                                                sampler_config=SamplerConfig(top_p=1.5)))


def test_beam_search_runs_but_cannot_stream(llm_interface, llm_speaker):
    out = llm_interface.generate(GenerationConfig(
        text="Hi.", speaker=llm_speaker, max_length=260,
        sampler_config=SamplerConfig(beam_width=2, seed=0)))
    assert out.duration > 0
    with pytest.raises(SamplingError, match="cannot stream"):
        list(llm_interface.stream(GenerationConfig(
            text="Hi.", speaker=llm_speaker, sampler_config=SamplerConfig(beam_width=2))))


def test_bad_generation_settings(llm_interface, llm_speaker):
    with pytest.raises(ConfigError, match="generation_type"):
        llm_interface.generate(GenerationConfig(text="Hi.", speaker=llm_speaker,
                                                generation_type="sideways"))
    with pytest.raises(ConfigError, match="SpeakerProfile"):
        llm_interface.generate(GenerationConfig(text="Hi.", speaker="me.wav"))
    with pytest.raises(ConfigError, match="voice_match must be between 0 and 1"):
        llm_interface.generate(GenerationConfig(text="Hi.", speaker=llm_speaker, voice_match=2.0))
    with pytest.raises(ConfigError, match="repeat_short_prompt must be one of"):
        llm_interface.generate(GenerationConfig(text="Hi.", speaker=llm_speaker,
                                                repeat_short_prompt="twice"))
    with pytest.raises(ConfigError, match="voice_match_levels must be one of"):
        llm_interface.generate(GenerationConfig(text="Hi.", speaker=llm_speaker,
                                                voice_match_levels="coarse"))


def test_model_config_errors(tmp_path, monkeypatch):
    from vall_e import default_model
    from vall_e.errors import CheckpointError

    # no model_path means the embedded default; an install without it says so in one line
    monkeypatch.setattr(default_model, "DEFAULT_MODEL_DIR", tmp_path / "absent")
    with pytest.raises(CheckpointError, match="no embedded default model"):
        Interface(InterfaceConfig())
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        Interface(InterfaceConfig(model_path=str(tmp_path), device="cuda"))
    with pytest.raises(ConfigError, match="dtype must be one of"):
        InterfaceConfig(model_path="x", dtype="int3").torch_dtype()


def test_orpheus_without_codec_weights_says_what_to_pass(orpheus_dir):
    with pytest.raises(ConfigError, match="SNAC 24 kHz weights"):
        Interface(InterfaceConfig(model_path=str(orpheus_dir), device="cpu"))
