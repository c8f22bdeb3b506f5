"""A pointer checkpoint streams within a sentence and paces with --speed through the engine."""
from dataclasses import replace

import pytest
import torch

from vall_e.inference.engine import ARNAREngine
from vall_e.models.random_checkpoint import save_random_checkpoint
from vall_e.sampling import SamplingParams


@pytest.fixture(scope="module")
def pointer_engine(tmp_path_factory, tiny_codec_dir):
    directory = save_random_checkpoint("ar_nar", tmp_path_factory.mktemp("pointer") / "ckpt",
                                       tiny_codec_dir, max_ar_steps=60, alignment="pointer")
    return ARNAREngine.from_checkpoint(directory, device="cpu")


def test_a_sentence_arrives_in_several_chunks_that_add_up(pointer_engine, reference_wav):
    engine = pointer_engine
    speaker = engine.speaker_for(reference_wav, SamplingParams(), engine.defaults)
    params = SamplingParams(seed=3)
    chunks = list(engine.stream("Hello there, how are you?", speaker, params))
    assert len(chunks) >= 2  # the first chunk comes before the sentence is finished
    (whole,) = engine.synthesize(["Hello there, how are you?"], speaker, params)
    total = sum(c.numel() for c in chunks)
    assert total == whole.audio.numel()  # same frames, same seed: same length


@pytest.mark.slow  # trains a pointer model
def test_speed_needs_a_pointer_model_and_changes_its_length(pointer_engine, reference_wav,
                                                             random_checkpoints):
    engine = pointer_engine
    speaker = engine.speaker_for(reference_wav, SamplingParams(), engine.defaults)
    settings = replace(engine.defaults, max_ar_steps=2000)  # the text-scaled cap ends it
    lengths = [engine.synthesize(["Hi there."], speaker, SamplingParams(seed=1, speed=s),
                                 settings)[0].audio.numel() for s in (0.5, 2.0)]
    assert lengths[0] > lengths[1]
    plain = ARNAREngine.from_checkpoint(random_checkpoints["ar_nar"], device="cpu")
    with pytest.raises(Exception, match="--speed needs a phoneme-aligned model"):
        plain.synthesize(["Hi."], speaker, SamplingParams(speed=1.5))
