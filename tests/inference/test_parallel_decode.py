"""Durations decoding: lengths >= 1 and capped, --speed scales them, level 0 fills every frame,
a model trained a few steps reproduces a planted phoneme -> code pattern."""
import pytest
import torch

from vall_e.config import ModelConfig
from vall_e.inference.parallel_decode import (
    generate_level0,
    lengths_from_logits,
    predict_durations,
    unsupported,
)
from vall_e.models.ar_nar import ARNARModel
from vall_e.sampling import SamplingParams, TokenSampler

N_TEXT, LEVELS, CODES = 12, 2, 10


def _model(**overrides) -> ARNARModel:
    torch.manual_seed(0)
    config = ModelConfig(d_model=32, n_layers=2, n_heads=2, dropout=0.0, alignment="durations",
                         max_inside_frames=8, max_duration_frames=8, **overrides)
    config.validate()
    return ARNARModel(config, N_TEXT, LEVELS, CODES)


def _sampler(temperature=1.0, seed=0, **params):
    return TokenSampler(SamplingParams(ar_temp=temperature, **params), "ar",
                        torch.Generator().manual_seed(seed))


def test_lengths_keep_the_rounded_total_give_every_position_a_frame_and_obey_the_cap():
    logits = torch.full((5, 8), -1e9)
    logits[:, 1] = 0.0  # every position: 2 frames
    assert lengths_from_logits(logits, 1.0, 1000).tolist() == [2, 2, 2, 2, 2]
    assert lengths_from_logits(logits, 2.0, 1000).tolist() == [1, 1, 1, 1, 1]
    assert int(lengths_from_logits(logits, 0.5, 1000).sum()) == 20
    capped = lengths_from_logits(logits, 0.25, 12)
    assert int(capped.sum()) <= 12 and int(capped.min()) >= 1


def test_speed_changes_the_predicted_length_monotonically():
    model = _model().eval()
    text, prompt = [torch.tensor([2, 5, 6, 7, 3])], [torch.randint(0, CODES, (LEVELS, 4))]
    totals = [int(predict_durations(model, text, prompt, speed)[0].sum()) for speed in (0.5, 1.0, 2.0)]
    assert totals[0] > totals[1] > totals[2]


@pytest.mark.parametrize("steps", [1, 3, 8])
def test_level0_fills_every_frame_with_a_code_and_is_reproducible(steps):
    model = _model().eval()
    text = [torch.tensor([2, 5, 6, 3]), torch.tensor([2, 7, 8, 9, 3])]
    prompts = [torch.randint(0, CODES, (LEVELS, 3))] * 2
    durations = [torch.tensor([1, 3, 2, 1]), torch.tensor([2, 1, 1, 4, 1])]
    first = generate_level0(model, text, prompts, durations, _sampler(), steps)
    again = generate_level0(model, text, prompts, durations, _sampler(), steps)
    for codes, other, dur in zip(first, again, durations):
        assert codes.shape == (int(dur.sum()),) and int(codes.max()) < CODES
        assert torch.equal(codes, other)


def test_a_few_steps_of_training_learn_a_planted_phoneme_to_code_map():
    model = _model()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(1)

    def item():
        phonemes = torch.randint(4, N_TEXT, (4,), generator=generator)
        text = torch.cat([torch.tensor([2]), phonemes, torch.tensor([3])])
        dur = torch.randint(1, 4, (6,), generator=generator)
        level0 = torch.repeat_interleave(text % CODES, dur)  # the code of a frame is its phoneme's
        return text, torch.stack([level0, level0]), dur

    for _ in range(150):
        text, codes, dur = zip(*[item() for _ in range(8)])
        loss, _ = model.ar_loss(list(text), [torch.zeros(LEVELS, 0).long()] * 8, list(codes),
                                durations=list(dur))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    text, codes, dur = item()
    (decoded,) = generate_level0(model, [text], [torch.zeros(LEVELS, 0).long()], [dur],
                                 _sampler(temperature=0.0))
    assert float((decoded == codes[0]).float().mean()) > 0.9


def test_options_that_need_a_sequential_ar_are_named():
    params = SamplingParams(beam_width=2, repetition_penalty=1.2, layer_skip=True)
    assert unsupported(params) == ["--beam-width", "--layer-skip", "--repetition-penalty"]
    assert unsupported(SamplingParams(ar_temp=0.3, top_k=5)) == []
