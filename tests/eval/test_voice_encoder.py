"""The voice encoder: trained on a few toy voices it tells held-out samples of them apart; it
saves and loads exactly; voice_positions places embeddings among centroids as planted; and the
training script runs from shards to a saved encoder."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vall_e.codecs.base import CodecInfo
from vall_e.codecs.mel.codec import load_mel_model, save_random_mel
from vall_e.data.shards import ShardWriter, Utterance
from vall_e.errors import CheckpointError, DataError
from vall_e.eval.voice_encoder import (
    VoiceEncoder, VoiceEncoderConfig, centroid, codes_to_log_mel, load_voice_encoder, save_voice_encoder,
    train_voice_encoder, voice_positions,
)

ROOT = Path(__file__).resolve().parents[2]
SMALL = VoiceEncoderConfig(n_mels=20, width=32, dim=16)


def toy_voice(envelope: torch.Tensor, generator: torch.Generator, frames: int = 60) -> torch.Tensor:
    """A log-mel [M, T] whose long-term shape is the voice's ``envelope`` [M] and whose frames
    vary like content does."""
    content = torch.randn(4, frames, generator=generator)
    mix = torch.randn(envelope.shape[0], 4, generator=generator)
    return envelope[:, None] + mix @ content


@pytest.fixture(scope="module")
def voices():
    generator = torch.Generator().manual_seed(0)
    return [torch.randn(SMALL.n_mels, generator=generator) * 0.5 for _ in range(3)]


@pytest.fixture(scope="module")
def encoder(voices):
    generator = torch.Generator().manual_seed(1)
    mels, speakers = [], []
    for index, envelope in enumerate(voices):
        for _ in range(12):
            mels.append(toy_voice(envelope, generator))
            speakers.append(f"v{index}")
    return train_voice_encoder(mels, speakers, config=SMALL, steps=60, batch_size=16,
                               crop_frames=(30, 50), seed=0)


def same_and_between(encoder, voices) -> tuple[float, float]:
    """Mean cosine between held-out samples of one voice, and of different voices."""
    generator = torch.Generator().manual_seed(2)
    embeddings = [[encoder.embed(toy_voice(v, generator)) for _ in range(4)] for v in voices]
    same = np.mean([float(a @ b) for group in embeddings for i, a in enumerate(group)
                    for b in group[i + 1:]])
    between = np.mean([float(a @ b) for i, g in enumerate(embeddings) for h in embeddings[i + 1:]
                       for a in g for b in h])
    return same, between


def test_a_trained_encoder_tells_held_out_samples_of_its_voices_apart(voices, encoder):
    same, between = same_and_between(encoder, voices)
    assert same > between + 0.5, (same, between)


def test_an_untrained_encoder_does_not(voices):
    torch.manual_seed(0)
    same, between = same_and_between(VoiceEncoder(SMALL).eval(), voices)
    assert same < between + 0.1  # the separation above is learned, not the architecture's


def test_saved_and_loaded_encoders_embed_identically(encoder, voices, tmp_path):
    mel = toy_voice(voices[0], torch.Generator().manual_seed(5))
    loaded = load_voice_encoder(save_voice_encoder(encoder, tmp_path / "enc"))
    assert loaded.config == encoder.config
    assert torch.allclose(loaded.embed(mel), encoder.embed(mel))
    with pytest.raises(CheckpointError, match="not a voice encoder directory"):
        load_voice_encoder(tmp_path / "missing")


def test_one_speaker_or_too_few_levels_is_a_clear_error():
    mel = torch.zeros(SMALL.n_mels, 40)
    with pytest.raises(DataError, match="at least 2"):
        train_voice_encoder([mel, mel], ["a", "a"], config=SMALL, steps=1)
    with pytest.raises(DataError, match="reads 6 codec levels"):
        codes_to_log_mel(None, torch.zeros(4, 10, dtype=torch.long), 6)


def test_voice_positions_place_planted_embeddings():
    a, b, c = torch.eye(3)
    centroids = {"a": a, "b": b, "c": c}
    near_own = [torch.nn.functional.normalize(a + 0.1 * b, dim=0)] * 3
    near_other = [torch.nn.functional.normalize(0.3 * a + b, dim=0)] * 2
    placed = voice_positions(near_own + near_other, "a", centroids)
    assert placed.count == 5
    assert placed.own_nearest == pytest.approx(3 / 5)
    assert placed.own == pytest.approx((3 * float(near_own[0] @ a) + 2 * float(near_other[0] @ a)) / 5)
    assert placed.nearest_other == pytest.approx((3 * float(near_own[0] @ b) + 2 * float(near_other[0] @ b)) / 5)
    assert torch.allclose(centroid([a, b]), torch.nn.functional.normalize(a + b, dim=0))
    with pytest.raises(ValueError, match="no centroid"):
        voice_positions(near_own, "z", centroids)


def test_the_training_script_goes_from_shards_to_a_saved_encoder(tmp_path):
    mel_dir = save_random_mel(tmp_path / "codec", levels=4, codebook_size=64)
    mel_model = load_mel_model(mel_dir)
    info = CodecInfo(name="mel_rvq", sample_rate=mel_model.spec.sample_rate, frame_rate=50.0,
                     n_levels=4, codebook_size=64)
    rng = np.random.default_rng(0)
    with ShardWriter(tmp_path / "shards", info, 8) as writer:
        for index in range(8):
            codes = rng.integers(0, 64, size=(4, 30))
            writer.add(Utterance(f"u{index}", f"s{index % 2}", "text", ["a"], codes), f"u{index}")
    sys.path.insert(0, str(ROOT / "scripts"))
    from train_voice_encoder import main
    assert main(["--data", str(tmp_path / "shards"), "--codec", str(mel_dir), "--out",
                 str(tmp_path / "enc"), "--steps", "2", "--batch-size", "4", "--levels", "4"]) == 0
    encoder = load_voice_encoder(tmp_path / "enc")
    assert encoder.config.levels == 4 and encoder.config.n_mels == mel_model.spec.n_mels
    mel = codes_to_log_mel(mel_model, torch.zeros(4, 30, dtype=torch.long), 4)
    assert encoder.embed(mel).shape == (encoder.config.dim,)


def test_voice_position_places_a_models_clones_among_its_known_voices(mel_run, tmp_path, capsys):
    import soundfile as sf

    _, run, codec_dir = mel_run
    mel_model = load_mel_model(codec_dir)
    refs = tmp_path / "refs"
    generator = torch.Generator().manual_seed(0)
    for voice, loudness in (("v1", 0.05), ("v2", 0.2)):
        (refs / voice).mkdir(parents=True)
        for clip in ("a", "b"):
            sf.write(refs / voice / f"{clip}.wav",
                     (loudness * torch.randn(24000, generator=generator)).numpy(), 24000)
            (refs / voice / f"{clip}.txt").write_text("hello there\n")
    (tmp_path / "sentences.txt").write_text("how are you\n")
    info = CodecInfo(name="mel_rvq", sample_rate=24000, frame_rate=50.0, n_levels=2, codebook_size=64)
    rng = np.random.default_rng(0)
    mels, speakers = [], []
    with ShardWriter(tmp_path / "shards", info, 8) as writer:
        for index in range(4):
            codes = rng.integers(0, 64, size=(2, 30))
            writer.add(Utterance(f"u{index}", f"known{index % 2}", "text", ["a"], codes), f"u{index}")
            mels.append(codes_to_log_mel(mel_model, torch.from_numpy(codes), 2))
            speakers.append(f"known{index % 2}")
    config = VoiceEncoderConfig(n_mels=mel_model.spec.n_mels, width=16, dim=8, levels=2)
    save_voice_encoder(train_voice_encoder(mels, speakers, config=config, steps=2, batch_size=4,
                                           crop_frames=(20, 40)), tmp_path / "enc")
    sys.path.insert(0, str(ROOT / "scripts"))
    from voice_position import main
    assert main(["--encoder", str(tmp_path / "enc"), "--model", str(run), "--refs", str(refs),
                 "--sentences", str(tmp_path / "sentences.txt"), "--data", str(tmp_path / "shards"),
                 "--seeds", "2", "--threads", "1"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("| v1 ", "| v2 "))]
    assert [row.split(" | ")[0] for row in rows] == ["| v1", "| v2"]
    for row in rows:  # one recording per voice is its own centroid: cosine 1, nearest itself
        recordings = row.split(" | ")[1]
        assert recordings.startswith("1.000 /") and recordings.endswith("/ 100%")
