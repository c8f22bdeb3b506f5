"""Both engines implement vall_e.inference.protocol.Engine with the same signatures."""
import inspect

import pytest

from vall_e.errors import SamplingError, TextError
from vall_e.inference.loader import load_engine
from vall_e.inference.protocol import Engine
from vall_e.sampling import SamplingParams

FAMILIES = ("ar_nar", "llm")
METHODS = ("create_speaker", "named_speaker", "tts", "synthesize", "stream", "max_speech_seconds")


@pytest.fixture(scope="module")
def engines(random_checkpoints):
    return {family: load_engine(random_checkpoints[family], device="cpu") for family in FAMILIES}


def _parameters(function) -> list[str]:
    return [name for name in inspect.signature(function).parameters if name != "self"]


@pytest.mark.parametrize("family", FAMILIES)
def test_each_engine_is_an_engine(engines, family):
    engine = engines[family]
    assert isinstance(engine, Engine)
    assert engine.family == family == engine.checkpoint.family
    assert isinstance(engine.voices, tuple)


@pytest.mark.parametrize("method", METHODS)
def test_the_protocol_arguments_come_first_with_the_same_names(engines, method):
    expected = _parameters(getattr(Engine, method))
    for family, engine in engines.items():
        assert _parameters(getattr(engine, method))[:len(expected)] == expected, family


@pytest.mark.parametrize("family", FAMILIES)
def test_synthesize_and_stream_take_the_same_call(engines, family, reference_wav):
    engine = engines[family]
    speaker = engine.create_speaker(reference_wav)
    params = SamplingParams(seed=0)
    (result,) = engine.synthesize(["a fox"], speaker, params, engine.defaults, max_length=None,
                                  constrain=True)
    assert result.audio.ndim == 1 and result.sample_rate == engine.codec.sample_rate
    chunks = list(engine.stream("a fox", speaker, params, engine.defaults, 0.5, None, True))
    assert chunks and all(c.ndim == 1 for c in chunks)


def test_max_length_caps_the_ar_nar_level0_frames(engines, reference_wav):
    engine = engines["ar_nar"]
    speaker = engine.create_speaker(reference_wav)
    (result,) = engine.synthesize(["a fox"], speaker, SamplingParams(seed=0), max_length=5)
    assert result.ar_steps <= 5


@pytest.mark.parametrize("family", FAMILIES)
def test_an_unknown_voice_name_is_one_line(engines, family):
    with pytest.raises(TextError, match="unknown voice 'nobody'"):
        engines[family].named_speaker("nobody")


def test_a_flag_the_family_cannot_honour_is_refused(engines, reference_wav):
    engine = engines["llm"]
    speaker = engine.create_speaker(reference_wav)
    with pytest.raises(SamplingError, match="AR\\+NAR models only"):
        engine.synthesize(["a fox"], speaker, SamplingParams(refine_on_stop=True))
