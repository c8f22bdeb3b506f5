"""Aligned positions at inference: the pace comes from the reference's transcript when known."""
from unittest import mock

import pytest

from vall_e.inference.engine import ARNAREngine
from vall_e.sampling import SamplingParams


@pytest.fixture(scope="module")
def aligned_engine(tiny_run):
    engine = ARNAREngine.from_checkpoint(tiny_run.checkpoint, device="cpu")
    engine.model.config.text_position_rate = 3.0  # same tensors; only positions change
    return engine


def test_the_rate_is_the_references_frames_over_its_text_tokens(aligned_engine, tiny_run):
    short = aligned_engine.create_speaker(tiny_run.reference(), transcript="hello")
    longer = aligned_engine.create_speaker(tiny_run.reference(), transcript="hello there my old friend")
    n_ids = len(aligned_engine.tokenizer.encode(short.phonemes))
    assert aligned_engine.speaking_rate(short) == pytest.approx(short.codes.shape[1] / (n_ids - 2))
    # the same recording said with more words is read faster: fewer frames per token
    assert aligned_engine.speaking_rate(longer) < aligned_engine.speaking_rate(short)
    no_text = aligned_engine.create_speaker(tiny_run.reference())
    assert aligned_engine.speaking_rate(no_text) is None  # -> the model's corpus average


def test_tts_decodes_at_the_measured_rate(aligned_engine, tiny_run):
    import vall_e.inference.engine as engine_module

    seen = []
    real = engine_module.generate_ar

    def spy(*args, **kwargs):
        seen.append(kwargs["rates"])
        return real(*args, **kwargs)

    with mock.patch.object(engine_module, "generate_ar", spy):
        aligned_engine.tts("one two", tiny_run.reference(), SamplingParams(seed=0), prompt_text="hello there")
        aligned_engine.tts("one two", tiny_run.reference(), SamplingParams(seed=0))
    speaker = aligned_engine.create_speaker(tiny_run.reference(), transcript="hello there")
    assert seen[0] == [pytest.approx(aligned_engine.speaking_rate(speaker))]
    assert seen[1] == [None]
