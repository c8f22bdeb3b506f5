import pytest
import torch

from vall_e.config import Config, ModelConfig
from vall_e.errors import ConfigError
from vall_e.models.ar_nar import ARNARModel
from vall_e.models.guided_attention import (
    AttentionProbe,
    GuideSpan,
    diagonal_prior_loss,
    log_diagonal_prior,
)
from vall_e.training.module import ARNARLightning

from .test_ar_nar import CODEBOOK, VOCAB, K, batch


def tiny_model(n_layers=3, **guided):
    torch.manual_seed(0)
    config = ModelConfig(d_model=32, n_layers=n_layers, n_heads=2, ffn_mult=2.0, dropout=0.0, **guided)
    config.validate()
    return ARNARModel(config, VOCAB, K, CODEBOOK)


def test_prior_is_one_on_the_diagonal_and_falls_off_it():
    log_prior = log_diagonal_prior(text_length=5, query_length=9, sigma=0.2, device="cpu")
    assert log_prior.shape == (9, 5)
    assert log_prior[0, 0] == 0 and log_prior[-1, -1] == 0 and log_prior[4, 2] == 0
    assert log_prior[0, -1] < log_prior[0, 1] < 0  # further from the diagonal: less prior


def _scores_attending(keys_of_query: list[int], t: int) -> torch.Tensor:
    """[1, 1, t, t] logits that send each query (row) to one key with near-certainty."""
    logits = torch.full((1, 1, t, t), -30.0)
    for query, key in enumerate(keys_of_query):
        logits[0, 0, query, key] = 30.0
    return logits


def test_loss_rewards_diagonal_reading_and_punishes_the_rest():
    # text keys at positions 1..4, queries at positions 5..8 (4 frames)
    span = [GuideSpan(text_start=1, text_length=4, query_start=5, query_length=4)]
    diagonal = _scores_attending([0] * 5 + [1, 2, 3, 4], 9)
    reversed_order = _scores_attending([0] * 5 + [4, 3, 2, 1], 9)
    on_audio = _scores_attending([0] * 5 + [5, 6, 7, 8], 9)  # ignores the text altogether
    loss = lambda logits: float(diagonal_prior_loss(logits, span, sigma=0.2))  # noqa: E731
    assert loss(diagonal) < 1e-6
    assert loss(reversed_order) > 2.0
    assert loss(on_audio) > 20.0


def test_probe_records_only_the_guided_layers_and_trains_them():
    model = tiny_model(n_layers=3)
    text, prompts, responses = batch()
    probe = AttentionProbe(layers=(1,), n_heads=1, sigma=0.2)
    model.ar_loss(text, prompts, responses, probe=probe)
    assert list(probe.logits) == [1] and probe.logits[1].shape[:2] == (2, 1)
    # the AR queries are the SEP position and every frame (T frames + STOP)
    assert [(s.text_start, s.text_length, s.query_length) for s in probe.spans] == [(1, 6, 8), (1, 4, 10)]
    probe.loss().backward()
    assert model.blocks[1].attn.qkv.weight.grad.abs().sum() > 0
    assert model.blocks[2].attn.qkv.weight.grad is None  # above the guided layer: untouched


def test_training_on_the_loss_makes_the_head_read_diagonally():
    model = tiny_model(n_layers=2)
    text, prompts, responses = batch()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        probe = AttentionProbe(layers=(1,), n_heads=1, sigma=0.2)
        model.ar_loss(text, prompts, responses, probe=probe)
        loss = probe.loss()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.25 * losses[0]


def test_lightning_module_adds_the_weighted_loss_only_when_configured():
    text, prompts, responses = batch()
    examples = {"text": text, "prompt": prompts, "codes": responses}
    totals = {}
    for weight in (0.0, 2.0):
        config = Config.from_dict({"model": {"d_model": 32, "n_layers": 2, "n_heads": 2, "dropout": 0.0,
                                             "guided_attention": weight,
                                             "guided_attention_layers": [1]}})
        torch.manual_seed(0)
        model = ARNARModel(config.model, VOCAB, K, CODEBOOK).eval()
        module = ARNARLightning(model, config)
        with torch.no_grad():
            totals[weight] = float(module._losses(examples, "val"))
    probe = AttentionProbe(layers=(1,), n_heads=1, sigma=0.2)
    with torch.no_grad():
        model.ar_loss(text, prompts, responses, probe=probe)
        guided = float(probe.loss())
    assert totals[2.0] == pytest.approx(totals[0.0] + 2.0 * guided, rel=1e-5)


@pytest.mark.parametrize("bad, message", [
    ({"guided_attention": -1.0}, "must be >= 0"),
    ({"guided_attention": 1.0, "guided_attention_layers": [5]}, "layer indices"),
    ({"guided_attention": 1.0, "guided_attention_layers": [1], "guided_attention_heads": 3},
     "guided_attention_heads"),
    ({"guided_attention": 1.0, "guided_attention_layers": [1], "guided_attention_sigma": 0.0}, "sigma"),
])
def test_impossible_settings_are_refused(bad, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig(d_model=32, n_layers=2, n_heads=2, **bad).validate()


def test_llm_family_refuses_guided_attention():
    with pytest.raises(ConfigError, match="AR\\+NAR feature"):
        ModelConfig(family="llm", layout="flat", guided_attention=1.0).validate()
