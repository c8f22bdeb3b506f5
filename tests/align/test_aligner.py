"""The learned aligner recovers planted durations; MAS gives every position >= 1 frame."""
import numpy as np
import pytest
import torch

from vall_e.align.model import (
    Aligner, AlignerConfig, forward_sum_loss, load_aligner, monotonic_durations, save_aligner,
)


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
