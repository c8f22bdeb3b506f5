"""Text of any length is spoken whole: sentences, in batches, joined with pauses; a piece that
reaches the step cap is reported, never silent (issue 21, item 1). A stand-in engine records
what it was asked to say, so these run without a model."""
from dataclasses import dataclass

import pytest
import torch

from vall_e.errors import TextError
from vall_e.inference import long_form
from vall_e.inference.common import PromptSettings, SynthesisResult

RATE = 1000


@dataclass
class FakeEngine:
    """Says each text as one sample per character; 'CUT' in a text means it hit the cap."""

    calls: list

    def max_speech_seconds(self, settings):
        return settings.max_ar_steps / 50

    def synthesize(self, texts, speaker, params, settings):
        self.calls.append(list(texts))
        return [SynthesisResult(torch.ones(len(t)), RATE, torch.zeros(1, len(t)), "CUT" not in t,
                                len(t), {"ar": 0.1}) for t in texts]


PARAGRAPH = ("The first sentence is short. " * 8 + ("Then one long sentence runs on and on, with "
             "clause after clause; it keeps going: past any single utterance's budget, and past "
             "the point where a listener would breathe, ") * 5 + "and ends here.")


def test_every_word_is_spoken_in_order_and_pieces_fit():
    engine = FakeEngine([])
    settings = PromptSettings(max_ar_steps=750)  # 15 s at 50 Hz -> pieces of <= 150 characters
    result = long_form.speak(engine, PARAGRAPH, None, None, settings, batch_size=3)
    assert len(PARAGRAPH) > 1000 and len(result.pieces) > 10
    assert all(len(p) <= 150 for p in result.pieces)
    assert " ".join(result.pieces).split() == PARAGRAPH.split()  # nothing dropped or reordered
    assert sorted(t for call in engine.calls for t in call) == sorted(result.pieces)
    assert max(len(call) for call in engine.calls) == 3  # batched
    assert not result.cut


def test_joined_audio_has_a_pause_between_pieces():
    pieces = ["One.", "two,", "three"]
    audio = long_form.join(pieces, [torch.ones(100)] * 3, RATE)
    pause = int(long_form.SENTENCE_PAUSE * RATE) + int(long_form.CLAUSE_PAUSE * RATE)
    assert audio.numel() == 300 + pause
    assert float(audio[100:100 + int(long_form.SENTENCE_PAUSE * RATE)].abs().max()) == 0.0
    assert float(audio[0]) == 0.0 and float(audio[50]) == 1.0  # faded in, no click


def test_a_piece_that_hits_the_cap_is_reported():
    engine = FakeEngine([])
    result = long_form.speak(engine, "This is fine. This one is CUT short. Fine again.", None,
                             None, PromptSettings(), batch_size=2)
    assert result.cut == [1] and "CUT" in result.pieces[1]


def test_punctuation_only_pieces_join_their_neighbour():
    assert long_form.split_text("Well. ... Then we left.", 150) == ["Well. ...", "Then we left."]


def test_over_the_total_limit_and_nothing_to_say_are_text_errors():
    engine = FakeEngine([])
    with pytest.raises(TextError, match="characters"):
        long_form.speak(engine, "word " * 30_000, None, None, PromptSettings())
    with pytest.raises(TextError, match="nothing to speak"):
        long_form.speak(engine, "😀 你好", None, None, PromptSettings())
    assert engine.calls == []


def test_piece_length_follows_the_step_cap():
    assert long_form.piece_chars(15.0, 1000) == 150
    assert long_form.piece_chars(1.0, 1000) == long_form.MIN_PIECE_CHARS
    assert long_form.piece_chars(500.0, 300) == 300
