"""The text-reliance diagnostic: a model whose audio depends on the text must show a gap."""
import pytest
import torch

from vall_e.config import ModelConfig
from vall_e.eval.text_reliance import (
    measure_head_alignment,
    measure_text_reliance,
    rotated,
    teacher_forced_level0,
)
from vall_e.models.ar_nar import ARNARModel
from vall_e.models.guided_attention import AttentionProbe
from vall_e.training.dataset import Example

K, CODEBOOK, VOCAB = 2, 16, 12


def examples(n=8, seed=0):
    """Level 0 spells the text (each phoneme id held for two frames); level 1 is noise."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        text = torch.randint(4, VOCAB, (5,), generator=g)
        level0 = (text - 4).repeat_interleave(2)
        codes = torch.stack([level0, torch.randint(0, CODEBOOK, level0.shape, generator=g)])
        prompt = torch.randint(0, CODEBOOK, (K, 4), generator=g)
        out.append(Example(text=text, codes=codes, prompt=prompt, speaker="s"))
    return out


def train_ar(model, data, steps=150):
    """Fit the AR to ``data`` (level 0 spells the text, so a fitted AR reads it)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    text, prompt, codes = [e.text for e in data], [e.prompt for e in data], [e.codes for e in data]
    for _ in range(steps):
        optimizer.zero_grad()
        model.ar_loss(text, prompt, codes)[0].backward()
        optimizer.step()


def test_rotation_has_no_fixed_points():
    items = list(range(5))
    assert all(a != b for a, b in zip(items, rotated(items)))
    assert sorted(rotated(items)) == items


@pytest.mark.slow  # trains a model
def test_a_model_that_reads_its_text_shows_a_gap_an_untrained_one_does_not():
    torch.manual_seed(0)
    model = ARNARModel(ModelConfig(d_model=32, n_layers=2, n_heads=2, ffn_mult=2.0, dropout=0.0),
                       VOCAB, K, CODEBOOK)
    data = examples()
    before = measure_text_reliance(model, data)
    assert abs(before.ar_gap) < 0.2
    train_ar(model, data)
    after = measure_text_reliance(model, data)
    assert after.ar_loss < before.ar_loss and after.ar_gap > 0.5
    assert after.ar_accuracy > after.ar_accuracy_other_text
    assert model.training  # the measurement put the model back in the mode it found it in


@pytest.mark.slow  # trains a model
def test_teacher_forced_level0_learns_the_codes_and_reads_only_the_past():
    torch.manual_seed(0)
    model = ARNARModel(ModelConfig(d_model=32, n_layers=2, n_heads=2, ffn_mult=2.0, dropout=0.0),
                       VOCAB, K, CODEBOOK)
    data = examples()
    example = data[0]
    guess = teacher_forced_level0(model, example)
    assert guess.shape == example.codes[0].shape and int(guess.max()) < CODEBOOK
    changed = example.codes.clone()
    changed[0, 6] = (changed[0, 6] + 1) % CODEBOOK  # a later frame must not change earlier guesses
    later = teacher_forced_level0(model, Example(example.text, changed, example.prompt, "s"))
    assert torch.equal(later[:7], guess[:7])
    train_ar(model, data)
    hits = torch.cat([teacher_forced_level0(model, e) == e.codes[0] for e in data]).float().mean()
    assert hits > 0.8 and model.training


def test_head_alignment_finds_the_head_guided_attention_trained():
    torch.manual_seed(0)
    model = ARNARModel(ModelConfig(d_model=32, n_layers=2, n_heads=2, ffn_mult=2.0, dropout=0.0),
                       VOCAB, K, CODEBOOK)
    data = examples()
    text, prompt, codes = [e.text for e in data], [e.prompt for e in data], [e.codes for e in data]
    before = {(h.layer, h.head): h for h in measure_head_alignment(model, data)}
    assert len(before) == 4 and all(0 < h.text_mass < 1 for h in before.values())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):  # guide layer 1, head 0 only
        optimizer.zero_grad()
        probe = AttentionProbe(layers=(1,), n_heads=1)
        model.ar_loss(text, prompt, codes, probe=probe)
        probe.loss().backward()
        optimizer.step()
    after = {(h.layer, h.head): h for h in measure_head_alignment(model, data)}
    guided = after[(1, 0)]
    assert guided.prior_loss < 0.3 * before[(1, 0)].prior_loss and guided.text_mass > 0.9
    assert guided.prior_loss < min(h.prior_loss for key, h in after.items() if key != (1, 0))


def test_needs_two_examples():
    model = ARNARModel(ModelConfig(d_model=32, n_layers=2, n_heads=2), VOCAB, K, CODEBOOK)
    with pytest.raises(ValueError, match="at least 2"):
        measure_text_reliance(model, examples(1))


@pytest.mark.slow
def test_script_prints_a_row_per_checkpoint(tiny_run, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "text_reliance.py"
    out = subprocess.run([sys.executable, str(script), "--model", str(tiny_run.checkpoint),
                          "--data", str(tiny_run.data), "--items", "4", "--val-fraction", "0.3", "--heads"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.startswith(f"| {tiny_run.checkpoint}")]
    assert len(rows) == 1 and len(rows[0].split("|")) == 10
    assert "diagonal-prior loss" in out.stdout and "| 1 | " in out.stdout  # --heads: a row per layer
    bad = subprocess.run([sys.executable, str(script), "--model", str(tmp_path), "--data",
                          str(tiny_run.data)], capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "error:" in bad.stderr and "Traceback" not in bad.stderr
