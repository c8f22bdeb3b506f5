"""The phoneme critic: trained on shards it prefers frames that voice their planned phonemes;
it refuses another model's vocabulary; decoding keeps the candidate it scores best, and the
engine and the package refuse candidates they cannot rank."""
import numpy as np
import pytest
import torch

from vall_e.align.critic import (
    CRITIC_DIR, CriticConfig, PhonemeCritic, load_critic, save_critic, train_critic,
)
from vall_e.codecs.base import CodecInfo
from vall_e.data.shards import ShardWriter, Utterance
from vall_e.errors import ConfigError
from vall_e.text.tokenizer import PhonemeTokenizer

SYMBOLS = ["a", "b", "c", "d", "e", "f"]
INFO = CodecInfo(name="toy", sample_rate=16000, frame_rate=50.0, n_levels=2, codebook_size=32)


def _planted(rng, tokenizer):
    """An utterance whose level-0 codes say its phonemes (each id owns 3 codes)."""
    phonemes = list(rng.choice(SYMBOLS, size=rng.integers(3, 7)))
    ids = np.asarray(tokenizer.encode(phonemes))
    durations = rng.integers(1, 5, size=len(ids))
    codes = rng.integers(0, INFO.codebook_size, size=(2, int(durations.sum())))
    codes[0] = np.repeat(ids, durations) * 3 + rng.integers(0, 3, size=int(durations.sum()))
    return phonemes, ids, durations, codes


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tokenizer = PhonemeTokenizer(SYMBOLS)
    assert 3 * len(tokenizer) <= INFO.codebook_size
    rng = np.random.default_rng(0)
    shards = tmp_path_factory.mktemp("shards")
    with ShardWriter(shards, INFO, 32) as writer:
        for index in range(120):
            phonemes, _, durations, codes = _planted(rng, tokenizer)
            writer.add(Utterance(f"u{index}", "s", "text", phonemes, codes, durations), f"u{index}")
    out = tmp_path_factory.mktemp("critic")
    report = train_critic(shards, out, tokenizer, steps=80, batch_size=16, val_items=20,
                          eval_every=80, log=lambda row: None)
    return tokenizer, out, report


@pytest.mark.slow  # trains the critic for a few seconds
def test_a_trained_critic_prefers_codes_that_voice_their_phonemes(trained):
    tokenizer, out, report = trained
    assert report["history"][-1]["val_frame_accuracy"] > 0.8
    critic = load_critic(out, tokenizer.vocab)
    rng = np.random.default_rng(1)
    wins = 0
    for _ in range(20):
        _, ids, durations, codes = _planted(rng, tokenizer)
        right = critic.score(torch.tensor(codes[0]), torch.tensor(ids), torch.tensor(durations))
        wrong = critic.score(torch.tensor(rng.permutation(codes[0])), torch.tensor(ids),
                             torch.tensor(durations))
        wins += right > wrong
    assert wins == 20


def test_a_score_needs_durations_that_cover_the_codes():
    critic = PhonemeCritic(CriticConfig(n_text_tokens=10, codebook_size=16, d_model=8))
    with pytest.raises(ValueError, match="durations sum to 5 frames"):
        critic.score(torch.zeros(6, dtype=torch.long), torch.tensor([1, 2]), torch.tensor([2, 3]))


def test_a_critic_of_another_vocabulary_is_refused(tmp_path):
    critic = PhonemeCritic(CriticConfig(n_text_tokens=10, codebook_size=16, d_model=8))
    save_critic(critic, tmp_path / "critic", [str(i) for i in range(10)])
    assert load_critic(tmp_path / "critic", [str(i) for i in range(10)]).config.d_model == 8
    with pytest.raises(ConfigError, match="another text vocabulary"):
        load_critic(tmp_path / "critic", [str(i) for i in range(9)] + ["x"])
    with pytest.raises(ConfigError, match="not a phoneme critic directory"):
        load_critic(tmp_path)


class _RecordingCritic:
    """Scores a candidate by the sum of its codes and remembers every score it gave."""

    def __init__(self):
        self.scored = []

    def score(self, level0, text, durations):
        assert int(durations.sum()) == level0.shape[0]
        self.scored.append((level0.clone(), float(level0.sum())))
        return float(level0.sum())


def test_generate_keeps_the_candidate_the_critic_scores_best():
    from tests.inference.test_shared_prefix_decode import LEVELS, _items, _model, _samplers
    from vall_e.inference import shared_prefix_decode as decode

    model = _model()
    text, prompts = _items()
    critic = _RecordingCritic()
    codes, lengths = decode.generate(model, text, prompts, *_samplers(seed=3), n_levels=LEVELS,
                                     candidates=3, critic=critic)
    assert len(critic.scored) == 6  # three per sentence
    for item, (code, length) in enumerate(zip(codes, lengths)):
        scored = critic.scored[3 * item:3 * item + 3]
        best = max(scored, key=lambda pair: pair[1])[0]
        assert len({tuple(c.tolist()) for c, _ in scored}) > 1  # the candidates differ
        assert torch.equal(code[0], best) and code.shape == (LEVELS, int(length.sum()))
        assert int(code[1:].max()) >= 0  # the NAR filled the kept one's levels
    with pytest.raises(ValueError, match="needs a phoneme critic"):
        decode.generate(model, text, prompts, *_samplers(), n_levels=LEVELS, candidates=2)


def test_the_engine_ranks_with_the_packages_critic_and_refuses_without_one(tmp_path, tiny_codec_dir,
                                                                         reference_wav):
    from dataclasses import replace

    from vall_e.inference.engine import ARNAREngine
    from vall_e.models.random_checkpoint import save_random_checkpoint

    directory = save_random_checkpoint("ar_nar", tmp_path / "ckpt", tiny_codec_dir, max_ar_steps=200,
                                       alignment="durations", shared_prefix=True)
    engine = ARNAREngine.from_checkpoint(directory, device="cpu")
    speaker = engine.create_speaker(reference_wav)
    two = replace(engine.defaults, candidates=2)
    with pytest.raises(ConfigError, match="needs a phoneme critic"):
        engine.synthesize(["Hello there."], speaker, settings=two)
    vocab = engine.tokenizer.vocab
    save_critic(PhonemeCritic(CriticConfig(len(vocab), engine.model.codebook_size, d_model=8)),
                directory / CRITIC_DIR, vocab)
    engine = ARNAREngine.from_checkpoint(directory, device="cpu")
    calls = []
    score = engine.critic.score
    engine.critic.score = lambda *args: calls.append(1) or score(*args)
    (result,) = engine.synthesize(["Hello there."], speaker, settings=two)
    assert len(calls) == 2 and result.audio.numel() > 0
    # a continuation of the reference ranks its candidates too
    from vall_e.sampling import SamplingParams

    transcribed = engine.create_speaker(reference_wav, transcript="Hello.")
    (result,) = engine.synthesize(["Hello there."], transcribed, SamplingParams(input_prompt_prefix=True),
                                  settings=two)
    assert len(calls) == 4 and result.audio.numel() > 0
