"""The pointer AR: never backwards, never a skip, always ends by the text's end; --speed paces."""
import pytest
import torch

from vall_e.config import ModelConfig
from vall_e.inference.ar_nar_decode import generate_nar
from vall_e.inference.pointer_decode import generate_pointer_ar, safety_cap
from vall_e.models.ar_nar import ARNARModel
from vall_e.models.pointer import frame_positions, onset_targets
from vall_e.sampling import SamplingParams, TokenSampler

N_TEXT, LEVELS, CODES = 16, 2, 12


def _model(**overrides) -> ARNARModel:
    torch.manual_seed(0)
    config = ModelConfig(d_model=32, n_layers=2, n_heads=2, alignment="pointer",
                         max_inside_frames=16, **overrides)
    config.validate()
    return ARNARModel(config, N_TEXT, LEVELS, CODES)


def _sampler(model, temperature=1.0, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return TokenSampler(SamplingParams(ar_temp=temperature), "ar", generator,
                        stop_token=model.stop_token), generator


def test_onset_targets_and_frame_positions():
    durations = torch.tensor([2, 1, 3, 9])
    onsets, classes = onset_targets(durations, max_frames=4)
    assert onsets.tolist() == [0, 2, 3, 6] and classes.tolist() == [1, 0, 2, 3]
    index, inside = frame_positions(durations[:3])
    assert index.tolist() == [0, 0, 1, 2, 2, 2] and inside.tolist() == [0, 1, 0, 0, 1, 2]


@pytest.mark.parametrize("seed", range(6))
def test_an_untrained_pointer_reads_every_position_once_in_order_and_ends(seed):
    model = _model().eval()
    texts = [torch.tensor([2, 5, 6, 7, 3]), torch.tensor([2, 8, 9, 10, 11, 12, 3])]
    prompts = [torch.randint(0, CODES, (LEVELS, 4))] * 2
    sampler, _ = _sampler(model, seed=seed)
    codes, durations, ended, _ = generate_pointer_ar(model, texts, prompts, sampler, 10_000)
    for text, code, duration, done in zip(texts, codes, durations, ended):
        assert len(code) == int(duration.sum()) <= safety_cap(len(text), 1.0)
        assert len(duration) == len(text)
        if done:  # ended by passing eos: every position got >= 1 frame (no skip)
            assert int(duration.min()) >= 1
        index, _ = frame_positions(duration)
        assert bool((index[1:] - index[:-1] >= 0).all())  # never backwards
        assert bool((index[1:] - index[:-1] <= 1).all())  # at most one position a frame


def test_the_step_cap_still_ends_a_model_that_holds_every_token_too_long():
    model = _model().eval()
    with torch.no_grad():  # every token predicted to last the longest the head knows
        model.duration_head.bias.copy_(torch.arange(model.duration_head.bias.numel()) * 100.0)
    text = torch.tensor([2, 5, 6, 3])
    sampler, _ = _sampler(model)
    codes, durations, ended, _ = generate_pointer_ar(model, [text], [torch.zeros(LEVELS, 0).long()],
                                                     sampler, 30)
    assert len(codes[0]) == 30 and ended == [False]
    codes, _, ended, _ = generate_pointer_ar(model, [text], [torch.zeros(LEVELS, 0).long()],
                                             sampler, 10_000)
    assert len(codes[0]) == safety_cap(len(text), 1.0) and ended == [False]


def _trained_pacer() -> ARNARModel:
    """A tiny model taught that token t lasts (t % 5) + 2 frames."""
    model = _model(dropout=0.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    rng = torch.Generator().manual_seed(1)
    for _ in range(120):
        texts, durations, codes = [], [], []
        for _ in range(8):
            ids = torch.randint(4, N_TEXT, (6,), generator=rng)
            text = torch.cat([torch.tensor([2]), ids, torch.tensor([3])])
            duration = (text % 5) + 2
            texts.append(text)
            durations.append(duration)
            codes.append(torch.randint(0, CODES, (LEVELS, int(duration.sum())), generator=rng))
        prompts = [torch.zeros(LEVELS, 0).long()] * 8
        loss, _ = model.ar_loss(texts, prompts, codes, durations=durations)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


@pytest.mark.slow  # trains a pointer model
def test_speed_changes_the_length_monotonically_and_durations_feed_the_nar():
    model = _trained_pacer()
    text = torch.tensor([2, 5, 9, 12, 6, 3])
    lengths = {}
    for speed in (0.5, 1.0, 2.0):
        total = 0
        for seed in range(4):
            sampler, _ = _sampler(model, temperature=0.0, seed=seed)
            codes, durations, ended, _ = generate_pointer_ar(
                model, [text], [torch.zeros(LEVELS, 0).long()], sampler, 10_000, speed=speed)
            assert ended == [True]
            total += len(codes[0])
        lengths[speed] = total
    assert lengths[0.5] > lengths[1.0] > lengths[2.0]
    expected = int(((text % 5) + 2).sum())
    assert abs(lengths[1.0] / 4 - expected) <= 3  # it learned the planted pace
    assert abs(lengths[2.0] / lengths[1.0] - 0.5) < 0.15 and abs(lengths[0.5] / lengths[1.0] - 2) < 0.3
    nar = generate_nar(model, [text], [torch.zeros(LEVELS, 0).long()], codes,
                       TokenSampler(SamplingParams(), "nar", None), durations=durations)
    assert nar[0].shape == (LEVELS, len(codes[0]))


def test_unsupported_sampler_options_are_refused_not_ignored():
    model = _model().eval()
    sampler = TokenSampler(SamplingParams(beam_width=2), "ar", None, stop_token=model.stop_token)
    with pytest.raises(ValueError, match="beam-width"):
        generate_pointer_ar(model, [torch.tensor([2, 5, 3])], [torch.zeros(LEVELS, 0).long()],
                            sampler, 50)
