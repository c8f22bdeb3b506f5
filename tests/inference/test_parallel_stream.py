"""A durations checkpoint through the engine: streams the same audio as one pass, --speed
scales its length, AR-only flags are refused in one line."""
from dataclasses import replace

import pytest
import torch

from vall_e.errors import SamplingError
from vall_e.inference.engine import ARNAREngine
from vall_e.models.random_checkpoint import save_random_checkpoint
from vall_e.sampling import SamplingParams


@pytest.fixture(scope="module")
def durations_engine(tmp_path_factory, tiny_codec_dir):
    directory = save_random_checkpoint("ar_nar", tmp_path_factory.mktemp("durations") / "ckpt",
                                       tiny_codec_dir, max_ar_steps=200, alignment="durations")
    return ARNAREngine.from_checkpoint(directory, device="cpu")


def _speaker(engine, reference_wav):
    return engine.speaker_for(reference_wav, SamplingParams(), engine.defaults)


def test_streamed_chunks_are_the_one_pass_audio(durations_engine, reference_wav):
    engine = durations_engine
    speaker = _speaker(engine, reference_wav)
    params = SamplingParams(seed=3, ar_temp=0.5)
    chunks = list(engine.stream("Hello there, how are you today?", speaker, params))
    (whole,) = engine.synthesize(["Hello there, how are you today?"], speaker, params)
    assert len(chunks) >= 2
    streamed = torch.cat(chunks)
    assert streamed.numel() == whole.audio.numel()
    assert torch.allclose(streamed, whole.audio, atol=1e-4)


def test_speed_scales_the_length(durations_engine, reference_wav):
    engine = durations_engine
    speaker = _speaker(engine, reference_wav)
    settings = replace(engine.defaults, max_ar_steps=100_000)  # the text-scaled cap applies
    frames = [engine.synthesize(["Hi there, friend."], speaker, SamplingParams(seed=1, speed=s),
                                settings)[0].codes.shape[1] for s in (0.5, 1.0, 2.0)]
    assert frames[0] > frames[1] > frames[2]
    assert frames[0] / frames[2] > 3  # lengths are divided by the speed (the +50-frame cap aside)


@pytest.mark.parametrize("flag, params", [
    ("--beam-width", SamplingParams(beam_width=2)),
    ("--repetition-penalty", SamplingParams(repetition_penalty=1.3)),
    ("--mirostat-tau", SamplingParams(mirostat_tau=3.0)),
])
def test_ar_only_flags_are_refused(durations_engine, reference_wav, flag, params):
    speaker = _speaker(durations_engine, reference_wav)
    with pytest.raises(SamplingError, match=flag):
        durations_engine.synthesize(["Hi."], speaker, params)
