"""Teacher timings map exactly onto our phoneme tokens and codec frames."""
import numpy as np
import pytest

from vall_e.data.corpus.timing import DurationTap, kokoro_batch_timing
from vall_e.data.durations import boundaries_to_durations, frame_positions, token_durations
from vall_e.data.timing import TeacherTiming
from vall_e.errors import DataError

HOP = 480  # samples per 50 Hz frame at 24 kHz


def _timing(symbols, frames, lead=10):
    """Symbols spoken for ``frames`` frames each after ``lead`` frames of silence."""
    edges = np.cumsum([lead] + list(frames)) * HOP
    return TeacherTiming("test", 24000, list(symbols), edges[:-1].tolist(), edges[1:].tolist())


def test_planted_durations_come_back_exactly():
    tokens = ["h", "ə", "l", "ˈ", "oʊ", ",", " ", "w", "ɜː", "l", "d"]
    frames = [3, 2, 4, 1, 6, 5, 2, 3, 7, 2, 4]
    symbols = ["h", "ə", "l", "ˈ", "o", "ʊ", ",", " ", "w", "ɜ", "ː", "l", "d"]
    symbol_frames = [3, 2, 4, 1, 3, 3, 5, 2, 3, 4, 3, 2, 4]  # a token's chars share its span
    n_frames = 10 + sum(frames) + 6
    durations = token_durations(tokens, _timing(symbols, symbol_frames), n_frames, n_frames * HOP)
    assert durations.tolist() == [10] + frames + [6]
    assert durations.sum() == n_frames


def test_a_mark_the_teacher_dropped_is_interpolated_and_still_sums():
    # Kokoro writes "wʌznt" where espeak gives "n̩" (the syllabic mark U+0329)
    tokens = ["w", "ˈ", "ʌ", "z", "n̩", "t"]
    timing = _timing(["w", "ˈ", "ʌ", "z", "n", "t"], [2, 1, 4, 3, 3, 2], lead=0)
    durations = token_durations(tokens, timing, 15, 15 * HOP)
    assert durations.tolist() == [1, 1, 1, 4, 3, 3, 1, 1]  # bos/eos take a frame from their neighbours
    assert durations.min() >= 1 and durations.sum() == 15


def test_every_position_keeps_a_frame_even_when_the_teacher_gave_none():
    boundaries = np.array([0, 0, 0, 5, 5, 9])
    durations = boundaries_to_durations(boundaries, 9)
    assert durations.min() >= 1 and durations.sum() == 9
    with pytest.raises(DataError):
        boundaries_to_durations(np.array([0, 1, 2, 3]), 2)


def test_a_transcript_that_does_not_match_the_audio_is_refused():
    timing = _timing(list("abcdef"), [2] * 6)
    with pytest.raises(DataError, match="match only"):
        token_durations(["x", "y", "z", "q", "r", "s"], timing, 30, 30 * HOP)


def test_frame_positions():
    index, inside = frame_positions(np.array([2, 1, 3]))
    assert index.tolist() == [0, 0, 1, 2, 2, 2]
    assert inside.tolist() == [0, 1, 0, 0, 1, 2]


def test_kokoro_spans_follow_trim_and_fill_the_audio():
    # pad, 3 symbols, pad at 600 samples a frame; trimming dropped 1,000 samples at the start
    durations = np.array([12, 2, 3, 1, 5])
    raw_length = 600 * durations.sum()
    starts, ends = kokoro_batch_timing("abc", durations, raw_length, head=1000, length=12000)
    assert starts == [12 * 600 - 1000, 14 * 600 - 1000, 17 * 600 - 1000]
    assert ends == [14 * 600 - 1000, 17 * 600 - 1000, 18 * 600 - 1000]
    with pytest.raises(DataError):
        kokoro_batch_timing("ab", durations, raw_length, 0, raw_length)


def test_duration_tap_keeps_the_extra_output_and_passes_the_audio():
    class Session:
        def run(self, names, inputs):
            return [np.zeros(4), np.array([[1, 2, 3]])]

        def get_inputs(self):
            return "inputs"

    tap = DurationTap(Session())
    audio = tap.run(None, {})[0]
    assert audio.shape == (4,) and tap.runs[-1].tolist() == [1, 2, 3]
    assert tap.get_inputs() == "inputs"


def test_timing_survives_resampling_and_trimming():
    timing = TeacherTiming("piper", 22050, ["a", "b"], [0, 2205], [2205, 4410])
    moved = timing.scaled(24000 / 22050).shifted(1200, 3000)
    assert moved.sample_rate == 24000
    assert moved.starts == [0, 1200] and moved.ends == [1200, 3000]
