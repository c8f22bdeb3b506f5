"""The voice-reliance diagnostic: a model whose audio copies its prompt's voice must show a gap."""
import pytest
import torch

from vall_e.config import ModelConfig
from vall_e.eval.voice_reliance import measure_voice_reliance, other_speaker_prompts
from vall_e.models.ar_nar import ARNARModel
from vall_e.training.dataset import Example

K, CODEBOOK, VOCAB = 2, 16, 12


def examples(n=8, seed=0):
    """Each speaker's 'voice' is one code: level 0 holds it throughout, and so does its prompt."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        voice = 2 + 5 * (i % 2)
        text = torch.randint(4, VOCAB, (4,), generator=g)
        level0 = torch.full((8,), voice)
        codes = torch.stack([level0, torch.randint(0, CODEBOOK, (8,), generator=g)])
        prompt = torch.stack([torch.full((4,), voice), torch.randint(0, CODEBOOK, (4,), generator=g)])
        out.append(Example(text=text, codes=codes, prompt=prompt, speaker=f"s{i % 2}"))
    return out


def test_the_foil_prompt_always_comes_from_another_speaker():
    data = examples(6)
    for example, foil in zip(data, other_speaker_prompts(data)):
        assert foil[0, 0] != example.prompt[0, 0]
    with pytest.raises(ValueError, match="at least 2 speakers"):
        other_speaker_prompts([e for e in data if e.speaker == "s0"])


@pytest.mark.slow  # trains a model
def test_a_model_that_copies_the_voice_shows_a_gap_an_untrained_one_does_not():
    torch.manual_seed(0)
    model = ARNARModel(ModelConfig(d_model=32, n_layers=2, n_heads=2, ffn_mult=2.0, dropout=0.0),
                       VOCAB, K, CODEBOOK)
    data = examples()
    before = measure_voice_reliance(model, data)
    assert abs(before.level0_gap) < 0.1
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(100):
        optimizer.zero_grad()
        model.ar_loss([e.text for e in data], [e.prompt for e in data], [e.codes for e in data])[0].backward()
        optimizer.step()
    after = measure_voice_reliance(model, data, batch_size=3)
    # teacher forcing: only the first frame must read the voice from the prompt, the rest copy it
    assert after.level0_loss < before.level0_loss and after.level0_gap > 0.4
    assert after.items == len(data) and model.training  # put back in the mode it was found in


@pytest.mark.slow
def test_script_prints_a_row_per_checkpoint_and_prompt_length(tiny_run):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "voice_reliance.py"
    out = subprocess.run([sys.executable, str(script), "--model", str(tiny_run.checkpoint),
                          "--data", str(tiny_run.data), "--all", "--items", "6",
                          "--prompt-seconds", "0.5", "1"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.startswith(f"| {tiny_run.checkpoint}")]
    assert [row.split("|")[2].strip() for row in rows] == ["0.5", "1"]
    bad = subprocess.run([sys.executable, str(script), "--model", str(tiny_run.checkpoint), "--data",
                          str(tiny_run.data), "--items", "1"], capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "error:" in bad.stderr and "Traceback" not in bad.stderr
