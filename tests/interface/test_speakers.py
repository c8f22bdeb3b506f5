"""Speaker profiles: save/load round trip, validation, codec checks, named voices."""
import json

import pytest
import torch

from vall_e import GenerationConfig, SamplerConfig, SpeakerProfile
from vall_e.codecs.base import CodecInfo
from vall_e.errors import CodecMismatchError, ConfigError, TextError


def test_profile_survives_save_and_load(llm_interface, llm_speaker, tmp_path):
    path = llm_interface.save_speaker(llm_speaker, tmp_path / "voices" / "me.json")
    loaded = llm_interface.load_speaker(path)
    assert torch.equal(loaded.codes, llm_speaker.codes)
    assert loaded.codec == llm_speaker.codec and loaded.source == llm_speaker.source
    assert [p.name for p in path.parent.iterdir()] == ["me.json"]  # atomic: no temp files


def test_profile_with_transcript_keeps_phonemes(llm_interface, tiny_llm_run, tmp_path):
    speaker = llm_interface.create_speaker(tiny_llm_run.reference(), transcript="Hello world.")
    assert speaker.transcript == "Hello world." and speaker.phonemes
    loaded = llm_interface.load_speaker(llm_interface.save_speaker(speaker, tmp_path / "s.json"))
    assert loaded.phonemes == speaker.phonemes


def test_decode_speaker_gives_the_reference_audio(llm_interface, llm_speaker):
    audio = llm_interface.decode_speaker(llm_speaker)
    assert audio.numel() == llm_speaker.codes.shape[1] * 320


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d.update(format="other"), "not a vall_e speaker profile"),
    (lambda d: d.update(version=99), "profile version 99"),
    (lambda d: d.update(codes=[[1, 2, 3]]), "expected \\[2, T>0\\]"),
    (lambda d: d.update(codes=[[1, 2], [3]]), "rectangular"),
    (lambda d: d.update(codes=[[1, 2], [3, 5000]]), "outside"),
    (lambda d: d.update(codec={"name": "encodec"}), "missing"),
    (lambda d: d.update(transcript=5), "'transcript' must be a string"),
    (lambda d: d.update(codes=None), "either reference codes or a voice name"),
])
def test_bad_profiles_are_refused_with_one_line(llm_interface, llm_speaker, tmp_path, mutate, match):
    data = llm_speaker.to_dict()
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises((ConfigError, CodecMismatchError), match=match) as err:
        llm_interface.load_speaker(path)
    assert "\n" not in str(err.value)


def test_unreadable_profiles(llm_interface, tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        llm_interface.load_speaker(tmp_path / "none.json")
    (tmp_path / "x.json").write_text("{nope")
    with pytest.raises(ConfigError, match="not valid JSON"):
        llm_interface.load_speaker(tmp_path / "x.json")


def test_profile_from_another_codec_is_refused(llm_interface, llm_speaker, tmp_path):
    other = SpeakerProfile(codes=torch.zeros(7, 4, dtype=torch.long),
                           codec=CodecInfo("snac", 24000, 24000 / 2048, 7, 4096))
    path = llm_interface.save_speaker(other, tmp_path / "snac.json")
    with pytest.raises(CodecMismatchError, match="speaker profile"):
        llm_interface.load_speaker(path)
    with pytest.raises(CodecMismatchError):
        llm_interface.generate(GenerationConfig(text="Hi.", speaker=other, max_length=260))


def test_flat_models_have_no_voice_names(llm_interface):
    assert llm_interface.voices == ()
    with pytest.raises(TextError, match="unknown voice"):
        llm_interface.named_speaker("tara")
    with pytest.raises(TextError, match="speaker made from a reference"):
        llm_interface.generate(GenerationConfig(text="Hi.", max_length=260))


def test_orpheus_named_voices_and_cloning(orpheus_interface, tmp_path):
    interface = orpheus_interface
    assert interface.family == "llm" and "tara" in interface.voices
    greedy = SamplerConfig(temperature=0, seed=0)
    tara = interface.named_speaker("tara")
    out = interface.generate(GenerationConfig(text="Hello <laugh> there.", speaker=tara,
                                              sampler_config=greedy, max_length=60))
    result = out.results[0]
    assert result.dropped_tokens == 0 and result.codes.shape[0] == 7
    assert out.audio.numel() == result.codes.shape[1] * 2048
    path = interface.save_speaker(tara, tmp_path / "tara.json")
    assert interface.load_speaker(path).voice == "tara"
    bad = path.read_text().replace('"tara"', '"nobody"')
    path.write_text(bad)
    with pytest.raises(TextError, match="unknown voice 'nobody'"):
        interface.load_speaker(path)
    clone = SpeakerProfile(codes=result.codes, codec=interface.engine.codec.info, transcript="Hello.")
    cloned = interface.generate(GenerationConfig(text="Hi.", speaker=clone, sampler_config=greedy,
                                                 max_length=120))
    assert cloned.duration > 0
    with pytest.raises(TextError, match="transcript"):
        interface.generate(GenerationConfig(
            text="Hi.", speaker=SpeakerProfile(codes=result.codes, codec=clone.codec), max_length=120))


def test_unconstrained_orpheus_output_is_validated_not_trusted(orpheus_interface):
    """Without the slot mask a random model draws ids of any kind (2.6% of the vocabulary fits
    the next slot); they are checked frame by frame, never fed to the codec as they come."""
    from vall_e.errors import GenerationError

    engine = orpheus_interface.engine
    try:
        (result,) = engine.synthesize(["Hello."], engine.named_speaker("tara"),
                                      SamplerConfig(seed=0).to_params(), engine.defaults,
                                      max_length=120, constrain=False)
    except GenerationError as err:
        assert "no whole audio frame" in str(err)
    else:
        assert result.dropped_tokens > 0
