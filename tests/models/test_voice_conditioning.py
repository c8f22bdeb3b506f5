"""model.voice_dim: the prompt's voice as one vector. The frozen encoder reads the codec's own
log-mel, a zero projection changes nothing, a trained one reaches the prefix and every frame,
only the projection trains, checkpoints carry the encoder, and a fresh run without an encoder
stops in one line."""
import pytest
import torch

from vall_e.codecs.base import CodecInfo
from vall_e.codecs.mel.codec import load_mel_model, save_random_mel
from vall_e.codecs.mel.vocoder import VocoderSpec
from vall_e.config import Config, ModelConfig
from vall_e.errors import ConfigError
from vall_e.eval.voice_encoder import (
    VoiceEncoderConfig, codes_to_log_mel, save_voice_encoder, train_voice_encoder,
)
from vall_e.inference import shared_prefix_decode as decode
from vall_e.models import shared_prefix
from vall_e.models.ar_nar import ARNARModel
from vall_e.models.checkpoint import load_checkpoint, save_checkpoint
from vall_e.models.voice_conditioning import fill_voice_conditioning
from vall_e.sampling import SamplingParams, TokenSampler
from vall_e.text.tokenizer import PhonemeTokenizer
from vall_e.training.setup import _start_voice_conditioning

CODES, LEVELS, N_TEXT = 16, 2, 10
VOICE = dict(voice_dim=8, voice_levels=2, voice_width=8)


def _model(**changes) -> ARNARModel:
    torch.manual_seed(0)
    config = ModelConfig(d_model=32, n_layers=2, n_heads=2, dropout=0.0, alignment="durations",
                         shared_prefix=True, max_inside_frames=8, max_duration_frames=8, **changes)
    config.validate()
    return ARNARModel(config, N_TEXT, LEVELS, CODES).eval()


@pytest.fixture(scope="module")
def codec_and_encoder(tmp_path_factory):
    """A random 2-level mel codec of 16 codes and a voice encoder trained a few steps on it."""
    root = tmp_path_factory.mktemp("voice")
    codec_dir = save_random_mel(root / "codec", levels=2, codebook_size=CODES,
                                vocoder=VocoderSpec(dim=16, intermediate=32, blocks=1))
    mel_model = load_mel_model(codec_dir)
    torch.manual_seed(0)
    mels = [codes_to_log_mel(mel_model, torch.randint(0, CODES, (2, 40)), 2) for _ in range(6)]
    encoder = train_voice_encoder(mels, ["a", "a", "a", "b", "b", "b"], steps=3, batch_size=4,
                                  crop_frames=(20, 40),
                                  config=VoiceEncoderConfig(n_mels=100, width=8, dim=8, levels=2))
    return codec_dir, save_voice_encoder(encoder, root / "encoder")


def _filled(codec_and_encoder, **changes) -> ARNARModel:
    model = _model(**VOICE, **changes)
    fill_voice_conditioning(model.voice, codec_and_encoder[1], codec_and_encoder[0])
    return model


def _items():
    torch.manual_seed(1)
    text = [torch.tensor([1, 4, 5, 6, 2]), torch.tensor([1, 7, 8, 2])]
    prompts = [torch.randint(0, CODES, (LEVELS, 6)), torch.randint(0, CODES, (LEVELS, 4))]
    durations = [torch.tensor([1, 2, 3, 1, 1]), torch.tensor([2, 2, 1, 1])]
    codes = [torch.randint(0, CODES, (LEVELS, int(d.sum()))) for d in durations]
    return text, prompts, codes, durations


def _generate(model, text, prompts, seed=0):
    generator = torch.Generator().manual_seed(seed)
    params = SamplingParams(ar_temp=1.0, nar_temp=1.0)
    samplers = TokenSampler(params, "ar", generator), TokenSampler(params, "nar", generator)
    prefix = decode.encode_prefix(model, text, prompts)
    lengths = decode.durations(model, prefix)
    codes = [torch.zeros(LEVELS, int(d.sum()), dtype=torch.long) for d in lengths]
    windows = [decode.Window(0, 0, c.shape[-1]) for c in codes]
    decode.fill_window(model, prefix, text, lengths, codes, windows, *samplers, LEVELS)
    return codes


def test_the_encoder_reads_the_log_mel_the_codec_dequantizes(codec_and_encoder):
    model = _filled(codec_and_encoder)
    prompt = torch.randint(0, CODES, (LEVELS, 7))
    expected = codes_to_log_mel(load_mel_model(codec_and_encoder[0]), prompt, 2)
    assert torch.allclose(model.voice.log_mel(prompt), expected, atol=1e-5)


def test_a_zero_projection_speaks_exactly_as_the_model_without_it(codec_and_encoder):
    plain, voiced = _model(), _filled(codec_and_encoder)
    voiced.load_state_dict(plain.state_dict(), strict=False)
    text, prompts, codes, durations = _items()
    losses = []
    for model in (plain, voiced):
        torch.manual_seed(3)  # the same masked frames
        with torch.no_grad():
            losses.append(model.ar_loss(text, prompts, codes, durations=durations)[0])
    assert torch.equal(*losses)
    assert all(torch.equal(a, b) for a, b in zip(_generate(plain, text, prompts),
                                                  _generate(voiced, text, prompts)))


def test_a_trained_projection_adds_the_prompts_voice_to_the_prefix_and_every_frame(codec_and_encoder):
    model = _filled(codec_and_encoder)
    torch.nn.init.normal_(model.voice.projection.weight)
    text, prompts, _, durations = _items()
    voice = shared_prefix.voice_vector(model, prompts[0])
    other = shared_prefix.voice_vector(model, prompts[1])
    assert voice.abs().sum() > 0 and not torch.allclose(voice, other)
    without = torch.cat([model.text_embedding(text[0]), model.embed_frames(prompts[0]),
                         model.special(model.sep_id)])
    assert torch.allclose(shared_prefix.prefix_sequence(model, text[0], prompts[0]), without + voice)
    frames = shared_prefix.frame_conditioning(model, text[0], durations[0], 0, 8, voice)
    assert torch.allclose(frames, model.pointer.frames(text[0], durations[0])[:8] + voice)
    empty = torch.zeros(LEVELS, 0, dtype=torch.long)
    assert torch.equal(shared_prefix.voice_vector(model, empty), torch.zeros(32))
    # decoding reads the same vector: each item's prefix carries its own prompt's voice
    prefix = decode.encode_prefix(model, text, prompts)
    assert torch.allclose(prefix.voices[0], voice) and torch.allclose(prefix.voices[1], other)


def test_only_the_projection_learns_and_the_encoder_stays_frozen(codec_and_encoder):
    model = _filled(codec_and_encoder).train()
    assert not model.voice.encoder.training  # its batch norms keep their statistics
    frozen = {k: v.clone() for k, v in model.voice.encoder.state_dict().items()}
    text, prompts, codes, durations = _items()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(3):
        optimizer.zero_grad()
        model.ar_loss(text, prompts, codes, durations=durations)[0].backward()
        assert model.voice.projection.weight.grad.abs().sum() > 0
        optimizer.step()
    assert all(p.grad is None for p in model.voice.encoder.parameters())
    assert all(torch.equal(v, model.voice.encoder.state_dict()[k]) for k, v in frozen.items())
    assert model.voice.projection.weight.abs().sum() > 0


def test_a_checkpoint_carries_the_encoder_and_the_codebooks(codec_and_encoder, tmp_path):
    config = _run_config(codec_and_encoder[0])
    tokenizer = PhonemeTokenizer.from_phoneme_lists([["a", "b", "c", "d", "e"]])
    model = ARNARModel(config.model, len(tokenizer), LEVELS, CODES)
    fill_voice_conditioning(model.voice, codec_and_encoder[1], codec_and_encoder[0])
    torch.nn.init.normal_(model.voice.projection.weight)
    save_checkpoint(tmp_path / "ckpt", model, config, tokenizer,
                    CodecInfo("mel_rvq", 24000, 50.0, LEVELS, CODES))
    loaded = load_checkpoint(tmp_path / "ckpt").model
    prompt = torch.randint(0, CODES, (LEVELS, 5))
    assert torch.equal(loaded.voice.codebooks, model.voice.codebooks)
    assert torch.allclose(loaded.voice(prompt), model.voice(prompt))


def _run_config(codec_dir, encoder=None) -> Config:
    model = {"d_model": 32, "n_layers": 2, "n_heads": 2, "alignment": "durations",
             "shared_prefix": True, **VOICE}
    if encoder is not None:
        model["voice_encoder"] = str(encoder)
    return Config.from_dict({"model": model, "codec": {"name": "mel_rvq", "path": str(codec_dir),
                                                       "n_levels": LEVELS}})


def test_a_fresh_run_copies_the_encoder_in_or_says_it_needs_one(codec_and_encoder):
    codec_dir, encoder_dir = codec_and_encoder
    model = _model(**VOICE)
    with pytest.raises(ConfigError, match="model.voice_encoder"):
        _start_voice_conditioning(_run_config(codec_dir), model)
    _start_voice_conditioning(_run_config(codec_dir, encoder_dir), model)
    assert model.voice.codebooks.abs().sum() > 0
    assert model.voice.projection.weight.abs().sum() == 0
    # started from a checkpoint that has one (init_from): its trained projection is kept
    torch.nn.init.normal_(model.voice.projection.weight)
    trained = model.voice.projection.weight.clone()
    _start_voice_conditioning(_run_config(codec_dir, encoder_dir), model)
    assert torch.equal(model.voice.projection.weight, trained)


def test_an_encoder_of_other_shapes_is_a_one_line_error(codec_and_encoder):
    model = _model(voice_dim=8, voice_levels=2, voice_width=16)
    with pytest.raises(ConfigError, match="voice_width"):
        fill_voice_conditioning(model.voice, codec_and_encoder[1], codec_and_encoder[0])


def test_voice_conditioning_needs_a_shared_prefix_model():
    with pytest.raises(ConfigError, match="model.voice_dim"):
        ModelConfig(alignment="durations", voice_dim=8).validate()
    with pytest.raises(ConfigError, match="model.voice_dim"):
        ModelConfig(alignment="durations", shared_prefix=True, voice_dim=-1).validate()


def test_prompt_dropout_hides_the_prompt_frames_but_not_the_vector(codec_and_encoder):
    model = _filled(codec_and_encoder, voice_prompt_dropout=0.99).train()
    torch.nn.init.normal_(model.voice.projection.weight)
    text, prompts, _, durations = _items()
    torch.manual_seed(0)
    prefix, positions, _, frames = shared_prefix._item(model, text[0], prompts[0], durations[0], 0, 8)
    voice = shared_prefix.voice_vector(model, prompts[0])
    assert prefix.shape[0] == len(text[0]) + 1 == positions.shape[0]  # text and SEP only
    assert torch.allclose(prefix[-1], model.special(model.sep_id)[0] + voice)
    assert torch.allclose(frames, model.pointer.frames(text[0], durations[0])[:8] + voice)
    model.eval()  # never at inference
    assert shared_prefix._item(model, text[0], prompts[0], durations[0], 0, 8)[0].shape[0] == \
        len(text[0]) + prompts[0].shape[-1] + 1
    with pytest.raises(ConfigError, match="voice_prompt_dropout"):
        ModelConfig(alignment="durations", shared_prefix=True, voice_prompt_dropout=0.3).validate()
