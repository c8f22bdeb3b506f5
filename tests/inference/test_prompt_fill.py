"""repeat_short_prompt: a reference shorter than the prompt length is repeated up to it."""
from dataclasses import replace

import pytest
import torch

from vall_e.config import Config
from vall_e.errors import ConfigError
from vall_e.inference.engine import ARNAREngine
from vall_e.inference.llm_engine import _refuse_levels
from vall_e.inference.prompt_fill import repeat_short_prompt


def test_a_short_reference_is_repeated_with_pauses_and_ends_on_its_own_last_frame():
    codes = torch.arange(1, 13).reshape(2, 6)  # K=2, T=6
    pause = torch.zeros(2, 2, dtype=torch.long)
    out = repeat_short_prompt(codes, 17, pause)  # copy, pause, copy, pause, copy: 22, cut to 17
    assert out.shape == (2, 17)
    assert torch.equal(out[:, -6:], codes)  # the reference's own ending is the prompt's last
    assert torch.equal(out[:, -8:-6], pause)  # a pause before it, not a cut
    assert torch.equal(out[:, -14:-8], codes)  # the whole copy before the pause
    assert torch.equal(out[:, -16:-14], pause)
    assert torch.equal(out[:, :1], codes[:, -1:])  # the earliest copy is cut at its start


def test_a_reference_of_the_prompt_length_or_more_is_untouched():
    codes = torch.arange(20).reshape(2, 10)
    pause = torch.zeros(2, 3, dtype=torch.long)
    assert repeat_short_prompt(codes, 10, pause) is codes
    assert repeat_short_prompt(codes, 4, pause) is codes


def test_mismatched_levels_and_empty_references_are_refused():
    with pytest.raises(ValueError, match="must share K"):
        repeat_short_prompt(torch.zeros(2, 5, dtype=torch.long), 9, torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="no frames"):
        repeat_short_prompt(torch.zeros(2, 0, dtype=torch.long), 9, torch.zeros(2, 2, dtype=torch.long))


def test_the_engine_fills_a_short_reference_only_when_asked(random_checkpoints, reference_wav):
    engine = ARNAREngine.from_checkpoint(random_checkpoints["ar_nar"], device="cpu")
    speaker = engine.create_speaker(reference_wav)  # 1 s of audio
    settings = replace(engine.defaults, input_prompt_length=2.5)
    frames = engine.codec.seconds_to_frames(2.5)
    plain = engine._prompt(speaker, settings)
    assert plain.shape[1] == speaker.codes.shape[1] < frames
    filled = engine._prompt(speaker, replace(settings, repeat_short_prompt="all"))
    assert filled.shape == (engine.codec.n_levels, frames)
    assert torch.equal(filled[:, -plain.shape[1]:], plain)
    # the pause between the copies is the codec's silence
    pause = engine.codec.encode(torch.zeros(round(engine.codec.sample_rate * 0.25)))[0]
    gap = filled[:, -plain.shape[1] - pause.shape[1]:-plain.shape[1]]
    assert torch.equal(gap, pause)
    # nar: level 0 reads the reference as it is, the NAR the repeated one
    nar = replace(settings, repeat_short_prompt="nar")
    assert torch.equal(engine._prompt(speaker, nar), plain)
    assert torch.equal(engine._nar_prompt(plain, nar), filled)
    assert engine._nar_prompt(plain, settings) is None  # none: one prompt for every pass


def test_llm_models_and_unknown_modes_are_refused():
    from vall_e.inference.common import PromptSettings

    with pytest.raises(ConfigError, match="--repeat-short-prompt is for AR\\+NAR"):
        _refuse_levels(PromptSettings(repeat_short_prompt="nar"))
    with pytest.raises(ConfigError, match="inference.repeat_short_prompt is for AR\\+NAR"):
        Config.from_dict({"model": {"family": "llm", "layout": "flat"},
                          "inference": {"repeat_short_prompt": "all"}})
    with pytest.raises(ConfigError, match="must be none, nar or all"):
        Config.from_dict({"inference": {"repeat_short_prompt": "yes"}})
