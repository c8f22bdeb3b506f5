"""The learned aligner recovers planted durations; MAS gives every position >= 1 frame; the
calibrated boundary shift moves the attention's boundaries onto a teacher's."""
import json

import numpy as np
import pytest
import torch

from vall_e.align.__main__ import main as align_main
from vall_e.align.model import (
    Aligner, AlignerConfig, forward_sum_loss, load_aligner, monotonic_durations, save_aligner,
    shift_boundaries,
)
from vall_e.align.train import train_aligner
from vall_e.codecs.base import CodecInfo
from vall_e.data.shards import ShardWriter, Utterance
from vall_e.text.tokenizer import PhonemeTokenizer


def test_mas_follows_a_planted_path_exactly():
    durations = [3, 1, 4, 2]
    log_attn = torch.full((10, 4), -5.0)
    frame = 0
    for position, length in enumerate(durations):
        log_attn[frame:frame + length, position] = 0.0
        frame += length
    assert monotonic_durations(log_attn).tolist() == durations


def _planted(rng: np.random.Generator, n_text: int = 12, levels: int = 2):
    """Phoneme ids whose frames carry the id as their level-0 code (plus noise elsewhere)."""
    ids = rng.integers(4, n_text, size=rng.integers(4, 8))
    ids = np.concatenate([[2], ids, [3]])
    durations = rng.integers(1, 5, size=len(ids))
    codes = rng.integers(0, 16, size=(levels, int(durations.sum())))
    codes[0] = np.repeat(ids, durations)
    return torch.tensor(ids), torch.tensor(codes), durations


@pytest.mark.slow  # trains the aligner
def test_a_trained_aligner_recovers_planted_durations(tmp_path):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    aligner = Aligner(AlignerConfig(n_text_tokens=12, n_levels=2, codebook_size=16, d_model=32))
    optimizer = torch.optim.Adam(aligner.parameters(), lr=1e-2)
    for _ in range(150):
        items = [_planted(rng) for _ in range(8)]
        text = torch.nn.utils.rnn.pad_sequence([t for t, _, _ in items], batch_first=True)
        codes = torch.nn.utils.rnn.pad_sequence([c.T for _, c, _ in items], batch_first=True)
        n_text = torch.tensor([len(t) for t, _, _ in items])
        n_frames = torch.tensor([c.shape[1] for _, c, _ in items])
        log_attn = aligner.log_attention(text, codes.transpose(1, 2), n_text, n_frames)
        loss = forward_sum_loss(log_attn, n_text, n_frames)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    aligner = load_aligner(save_aligner(aligner.eval(), tmp_path / "aligner"))
    exact, total = 0, 0
    for _ in range(10):
        text, codes, durations = _planted(rng)
        predicted = aligner.durations(text, codes)
        assert predicted.sum() == codes.shape[1] and predicted.min() >= 1
        exact += int((np.cumsum(predicted) == np.cumsum(durations)).sum())
        total += len(durations)
    assert exact / total > 0.9  # boundaries where the planted ones are


def test_a_boundary_shift_moves_inner_boundaries_and_keeps_every_frame():
    assert shift_boundaries([3, 3, 3], 0).tolist() == [3, 3, 3]
    assert shift_boundaries([3, 3, 3], 1).tolist() == [4, 3, 2]
    assert shift_boundaries([3, 3, 3], -2).tolist() == [1, 3, 5]
    for shift in (-9, -3, 2, 9):  # too far: crowded boundaries keep one frame each
        moved = shift_boundaries([2, 1, 1, 4, 2], shift)
        assert moved.sum() == 10 and moved.min() >= 1
        assert (np.diff(np.cumsum(moved)) > 0).all()


def test_an_aligner_saved_before_the_shift_existed_loads_unshifted(tmp_path):
    directory = save_aligner(Aligner(AlignerConfig(n_text_tokens=8, n_levels=1, codebook_size=8,
                                                   d_model=8)), tmp_path / "old")
    config = json.loads((directory / "aligner.json").read_text())
    del config["boundary_shift"]
    (directory / "aligner.json").write_text(json.dumps(config))
    assert load_aligner(directory).config.boundary_shift == 0


@pytest.mark.slow  # trains the aligner for a few seconds
def test_training_calibrates_the_shift_a_lagging_teacher_needs(tmp_path, capsys):
    """Codes change phoneme 2 frames before the teacher says so (as the default's codec does):
    the attention finds the codes' boundaries, training's calibration moves them onto the teacher's, and the held-out error
    drops; ``calibrate`` chooses the same shift again and ``eval`` reports both errors."""
    symbols = ["a", "b", "c", "d", "e", "f"]
    tokenizer = PhonemeTokenizer(symbols)
    info = CodecInfo(name="toy", sample_rate=16000, frame_rate=50.0, n_levels=2, codebook_size=16)
    rng = np.random.default_rng(0)
    data = tmp_path / "shards"
    with ShardWriter(data, info, 64) as writer:
        for index in range(160):
            phonemes = [symbols[0]]
            while len(phonemes) < rng.integers(4, 8):  # no phoneme twice in a row
                phonemes.append(rng.choice([s for s in symbols if s != phonemes[-1]]))
            ids = np.asarray(tokenizer.encode(phonemes, add_bos_eos=True))
            heard = rng.integers(3, 6, size=len(ids))  # where the codes change phoneme
            codes = rng.integers(0, info.codebook_size, size=(2, int(heard.sum())))
            codes[0] = np.repeat(ids, heard)
            teacher = shift_boundaries(heard, 2)
            writer.add(Utterance(f"u{index}", "s", "text", phonemes, codes, teacher), f"u{index}")
    out = tmp_path / "aligner"
    report = train_aligner(data, out, steps=800, batch_size=8, learning_rate=2e-3,
                           val_fraction=0.1, eval_every=800, log=lambda row: None)
    final = report["history"][-1]
    assert final["boundary_shift"] == 2
    assert final["boundary_error_ms"] < 0.4 * final["boundary_error_ms_unshifted"]
    assert load_aligner(out).config.boundary_shift == 2

    assert align_main(["calibrate", "--aligner", str(out), "--data", str(data)]) == 0
    assert json.loads(capsys.readouterr().out)["boundary_shift"] == 2
    assert align_main(["eval", "--aligner", str(out), "--data", str(data)]) == 0
    measured = json.loads(capsys.readouterr().out)
    assert measured["held_out"] and measured["boundary_shift"] == 2
    assert measured["boundary_error_ms"] < measured["boundary_error_ms_unshifted"]
