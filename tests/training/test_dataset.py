import numpy as np
import pytest
import torch

from vall_e.config import Config
from vall_e.data.shards import Utterance
from vall_e.errors import ConfigError
from vall_e.text.tokenizer import PhonemeTokenizer
from vall_e.training.dataset import TTSDataset

PHONES = ["a", "b", "c", "d", " "]


def utterance(i: int, speaker: str, frames: int) -> Utterance:
    phonemes = [PHONES[(i + j) % 4] for j in range(3)]
    codes = np.full((2, frames), i, dtype=np.int16)  # every frame says which utterance it is from
    return Utterance(f"{speaker}/{i}", speaker, "x", phonemes, codes)


def dataset(concat_probability: float, max_frames=None, deterministic=False) -> TTSDataset:
    utts = [utterance(i, "a" if i < 4 else "b", frames=10 + i) for i in range(6)]
    utts.append(utterance(6, "a", frames=100))  # too long to pair under max_frames=40
    return TTSDataset(utts, PhonemeTokenizer.from_phoneme_lists([u.phonemes for u in utts]), prompt_frames=4,
                      seed=0, deterministic=deterministic, concat_probability=concat_probability,
                      max_frames=max_frames)


def test_without_concatenation_an_example_is_its_own_utterance():
    data = dataset(0.0)
    for index in range(len(data)):
        example = data[index]
        assert set(example.codes.unique().tolist()) == {index}
        assert example.text[0] == data.tokenizer.BOS_ID and example.text[-1] == data.tokenizer.EOS_ID


def test_concatenated_examples_join_two_utterances_of_one_speaker_within_the_limit():
    data = dataset(1.0, max_frames=40)
    for _ in range(20):
        example = data[0]
        first, second = example.codes[0, 0].item(), example.codes[0, -1].item()
        assert first == 0 and second in (1, 2, 3)  # speaker a, never the 100-frame utterance
        assert example.codes.shape[1] == 10 + (10 + second) <= 40
        assert torch.equal(example.text, torch.cat([data.text_ids(0)[:-1], data.text_ids(second)[1:]]))
        assert (example.text == data.tokenizer.BOS_ID).sum() == 1 == (example.text == data.tokenizer.EOS_ID).sum()
        assert not set(example.prompt.unique().tolist()) & {0, second}  # prompt from a third one
    assert data[6].codes.shape[1] == 100  # nothing fits beside it: stays alone


def test_concatenation_happens_at_the_asked_rate_and_never_in_validation():
    half = dataset(0.5)
    lengths = [half[1].codes.shape[1] for _ in range(400)]
    assert 0.4 < np.mean([n > 11 for n in lengths]) < 0.6
    validation = dataset(1.0, deterministic=True)
    assert all(validation[i].codes.shape[1] == 10 + i for i in range(6))


def test_impossible_concat_probability_is_refused():
    with pytest.raises(ConfigError, match="concat_probability"):
        Config.from_dict({"data": {"concat_probability": 1.5}})
    with pytest.raises(ValueError, match="concat_probability"):
        dataset(-0.1)


class MarkingWarper:
    """Stands in for VoiceWarper: a warped utterance's codes carry 1000 x the factor."""

    def __init__(self, probability: float):
        self.probability = probability

    def draw(self, rng):
        return rng.choice((0.9, 1.1)) if rng.random() < self.probability else None

    def codes(self, index, codes, alpha):
        return np.asarray(codes, dtype=np.int64) + int(round(1000 * alpha))


def warped_dataset(probability: float, concat_probability: float = 0.0, deterministic=False):
    data = dataset(concat_probability, max_frames=40, deterministic=deterministic)
    return TTSDataset(data.utterances, data.tokenizer, prompt_frames=4, seed=0,
                      deterministic=deterministic, concat_probability=concat_probability,
                      max_frames=40, warper=MarkingWarper(probability))


def test_a_warped_example_has_target_partner_and_prompt_in_one_warped_voice():
    data = warped_dataset(1.0, concat_probability=1.0)
    for _ in range(20):
        example = data[0]
        marks = {int(c) // 100 * 100 for c in torch.cat([example.codes, example.prompt], 1).flatten()}
        assert marks in ({900}, {1100})  # one factor for the whole example
        assert example.codes[0, 0].item() % 100 == 0  # still utterance 0, just warped


def test_voice_warping_follows_its_probability_and_never_touches_validation():
    data = warped_dataset(0.5)
    warped = [data[1].codes[0, 0].item() >= 900 for _ in range(400)]
    assert 0.4 < np.mean(warped) < 0.6
    validation = warped_dataset(1.0, deterministic=True)
    assert all(validation[i].codes.max().item() < 900 for i in range(6))


def test_voice_warp_settings_are_checked():
    with pytest.raises(ConfigError, match="voice_warp_probability must be in"):
        Config.from_dict({"data": {"voice_warp_probability": 2}})
    with pytest.raises(ConfigError, match="voice_warp_factors"):
        Config.from_dict({"data": {"voice_warp_factors": [0.5]}})
    with pytest.raises(ConfigError, match="codec snac"):
        Config.from_dict({"codec": {"name": "snac"}, "data": {"voice_warp_probability": 0.5}})
    with pytest.raises(ConfigError, match="voice_eq_probability must be in"):
        Config.from_dict({"data": {"voice_eq_probability": 1.5}})
    with pytest.raises(ConfigError, match="voice_eq_db"):
        Config.from_dict({"data": {"voice_eq_db": 0}})
    with pytest.raises(ConfigError, match="voice_eq_curves"):
        Config.from_dict({"data": {"voice_eq_curves": 0}})
    with pytest.raises(ConfigError, match="voice_eq_probability changes mel_rvq codes"):
        Config.from_dict({"codec": {"name": "snac"}, "data": {"voice_eq_probability": 0.5}})


def test_prompt_lengths_spread_between_the_shortest_and_the_longest():
    utts = [utterance(i, "a", frames=30) for i in range(4)]
    tokenizer = PhonemeTokenizer.from_phoneme_lists([u.phonemes for u in utts])
    varied = TTSDataset(utts, tokenizer, prompt_frames=20, min_prompt_frames=5)
    lengths = {varied[0].prompt.shape[1] for _ in range(300)}
    assert min(lengths) == 5 and max(lengths) == 20 and len(lengths) > 10
    fixed = TTSDataset(utts, tokenizer, prompt_frames=20)
    assert {fixed[0].prompt.shape[1] for _ in range(50)} == {20}
    validation = TTSDataset(utts, tokenizer, prompt_frames=20, min_prompt_frames=5, deterministic=True)
    assert {validation[i].prompt.shape[1] for i in range(4)} == {20}  # comparable losses


def test_min_prompt_seconds_is_checked():
    assert Config.from_dict({"data": {"min_prompt_seconds": 1.0}}).data.min_prompt_seconds == 1.0
    for bad in (0, -1, 3.5):  # prompt_seconds is 3.0
        with pytest.raises(ConfigError, match="min_prompt_seconds"):
            Config.from_dict({"data": {"min_prompt_seconds": bad}})
    with pytest.raises(ConfigError, match="min_prompt_seconds varies the prompt of AR\\+NAR"):
        Config.from_dict({"model": {"family": "llm", "layout": "flat"}, "data": {"min_prompt_seconds": 1.0}})
