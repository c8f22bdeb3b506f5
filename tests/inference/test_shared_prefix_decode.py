"""Shared-prefix decoding: a pass over the cached prefix equals one isolated forward, windows
fill every frame and level, a stream's windows add up to the sentence, --speed scales it, and
the engine streams and synthesizes such a checkpoint."""
from dataclasses import replace

import pytest
import torch

from vall_e.config import ModelConfig
from vall_e.inference import shared_prefix_decode as decode
from vall_e.inference.engine import ARNAREngine
from vall_e.inference.shared_prefix_stream import stream_sentence_codes
from vall_e.models import shared_prefix as layout
from vall_e.models.ar_nar import ARNARModel
from vall_e.models.random_checkpoint import save_random_checkpoint
from vall_e.sampling import SamplingParams, TokenSampler

N_TEXT, LEVELS, CODES = 12, 3, 10


def _model() -> ARNARModel:
    torch.manual_seed(0)
    config = ModelConfig(d_model=32, n_layers=2, n_heads=2, dropout=0.0, alignment="durations",
                         shared_prefix=True, max_inside_frames=8, max_duration_frames=8)
    config.validate()
    return ARNARModel(config, N_TEXT, LEVELS, CODES).eval()


def _samplers(seed=0, temperature=1.0):
    generator = torch.Generator().manual_seed(seed)
    params = SamplingParams(ar_temp=temperature, nar_temp=temperature)
    return TokenSampler(params, "ar", generator), TokenSampler(params, "nar", generator)


def _items():
    text = [torch.tensor([1, 4, 5, 6, 2]), torch.tensor([1, 7, 8, 2])]
    prompts = [torch.randint(0, CODES, (LEVELS, 6)), torch.randint(0, CODES, (LEVELS, 4))]
    return text, prompts


def test_a_pass_over_the_cached_prefix_equals_one_isolated_forward_and_leaves_the_cache():
    model = _model()
    text, prompts = _items()
    prefix = decode.encode_prefix(model, text[:1], prompts[:1])
    length = prefix.cache.length
    frames = torch.randn(5, 32)
    inputs = torch.cat([layout.mode_token(model, 0), frames])
    positions = layout.pass_positions(model, len(text[0]), 6, 0, 5)
    cached = decode._pass_hidden(model, prefix, [inputs], [positions])[0]
    assert prefix.cache.length == length  # rolled back: the next pass sees the prefix alone
    assert torch.allclose(decode._pass_hidden(model, prefix, [inputs], [positions])[0], cached)
    sequence = torch.cat([layout.prefix_sequence(model, text[0], prompts[0]), inputs])
    all_positions = torch.cat([layout.prefix_positions(model, len(text[0]), 6), positions])
    with torch.inference_mode():
        whole = model.hidden_states(sequence[None], all_positions[None],
                                    torch.ones(1, sequence.shape[0], dtype=torch.bool), causal=False,
                                    isolated_prefix=torch.tensor([length]))[0]
    assert torch.allclose(whole[length:], cached, atol=1e-5)


def test_generate_fills_every_frame_and_level_and_is_reproducible():
    model = _model()
    text, prompts = _items()
    codes, lengths = decode.generate(model, text, prompts, *_samplers(seed=5), n_levels=LEVELS)
    again, _ = decode.generate(model, text, prompts, *_samplers(seed=5), n_levels=LEVELS)
    for item, length, other in zip(codes, lengths, again):
        assert item.shape == (LEVELS, int(length.sum())) and int(length.min()) >= 1
        assert int(item.min()) >= 0 and int(item.max()) < CODES
        assert torch.equal(item, other)


def test_speed_divides_the_length():
    model = _model()
    text, prompts = _items()
    totals = [int(decode.generate(model, text[:1], prompts[:1], *_samplers(), n_levels=LEVELS,
                                  speed=speed)[1][0].sum()) for speed in (0.5, 1.0, 2.0)]
    assert totals[0] > totals[1] > totals[2]


def test_stream_windows_cover_the_sentence_in_order():
    model = _model()
    text, prompts = _items()
    chunks = list(stream_sentence_codes(model, text[0], prompts[0], *_samplers(), n_levels=LEVELS,
                                        speed=0.25, first_frames=3, chunk_frames=4,
                                        context_frames=2, lookahead_frames=2))
    prefix = decode.encode_prefix(model, text[:1], prompts[:1])
    total = int(decode.durations(model, prefix, 0.25)[0].sum())
    assert chunks[0].shape == (LEVELS, 3) and all(c.shape[1] <= 4 for c in chunks[1:])
    assert sum(c.shape[1] for c in chunks) == total and len(chunks) >= 3


def test_one_window_as_large_as_the_sentence_is_the_one_pass_result():
    model = _model()
    text, prompts = _items()
    (whole,), _ = decode.generate(model, text[:1], prompts[:1], *_samplers(seed=2), n_levels=LEVELS)
    (streamed,) = stream_sentence_codes(model, text[0], prompts[0], *_samplers(seed=2),
                                        n_levels=LEVELS, first_frames=10_000)
    assert torch.equal(streamed, whole)


def test_a_nar_prompt_changes_the_levels_and_leaves_level_zero():
    model = _model()
    text, prompts = _items()
    other = [torch.randint(0, CODES, (LEVELS, 9)) for _ in prompts]  # greedy: only prompts differ
    plain, lengths = decode.generate(model, text, prompts, *_samplers(seed=4, temperature=0.0), n_levels=LEVELS)
    nar, nar_lengths = decode.generate(model, text, prompts, *_samplers(seed=4, temperature=0.0), n_levels=LEVELS,
                                       nar_prompts=other)
    for a, b, la, lb in zip(plain, nar, lengths, nar_lengths):
        assert torch.equal(la, lb) and torch.equal(a[0], b[0])  # durations and level 0: prompts'
    assert any(not torch.equal(a[1:], b[1:]) for a, b in zip(plain, nar))  # the levels: other's
    # a stream's one big window gives the same codes as one pass with the same NAR prompt
    (streamed,) = stream_sentence_codes(model, text[0], prompts[0], *_samplers(seed=4, temperature=0.0),
                                        n_levels=LEVELS, first_frames=10_000, nar_prompt=other[0])
    (whole,), _ = decode.generate(model, text[:1], prompts[:1], *_samplers(seed=4, temperature=0.0), n_levels=LEVELS,
                                  nar_prompts=other[:1])
    assert torch.equal(streamed, whole)


@pytest.fixture(scope="module")
def shared_engine(tmp_path_factory, tiny_codec_dir):
    directory = save_random_checkpoint("ar_nar", tmp_path_factory.mktemp("shared") / "ckpt",
                                       tiny_codec_dir, max_ar_steps=200, alignment="durations",
                                       shared_prefix=True)
    return ARNAREngine.from_checkpoint(directory, device="cpu")


def test_the_engine_streams_within_a_sentence_and_synthesizes(shared_engine, reference_wav):
    engine = shared_engine
    speaker = engine.speaker_for(reference_wav, SamplingParams(), engine.defaults)
    params = SamplingParams(seed=3, ar_temp=0.5, speed=0.3)
    (whole,) = engine.synthesize(["Hello there, how are you today?"], speaker, params)
    chunks = list(engine.stream("Hello there, how are you today?", speaker, params))
    assert len(chunks) >= 2
    assert sum(c.numel() for c in chunks) == whole.audio.numel()


def test_the_engine_repeats_a_short_reference_for_the_nar_only(shared_engine, reference_wav):
    engine = shared_engine
    speaker = engine.speaker_for(reference_wav, SamplingParams(), engine.defaults)
    params = SamplingParams(seed=3, ar_temp=0.5, speed=0.3)
    three = replace(engine.defaults, input_prompt_length=3.0)  # the reference is 1 s
    nar = replace(three, repeat_short_prompt="nar")
    (plain,) = engine.synthesize(["Hello there."], speaker, params, three)
    (repeated,) = engine.synthesize(["Hello there."], speaker, params, nar)
    assert torch.equal(plain.codes[0], repeated.codes[0])
    assert not torch.equal(plain.codes[1:], repeated.codes[1:])
    chunks = list(engine.stream("Hello there.", speaker, params, nar))
    assert sum(c.numel() for c in chunks) == repeated.audio.numel()


def test_fewer_first_window_passes_still_fill_the_same_frames():
    model = _model()
    text, prompts = _items()
    chunks = list(stream_sentence_codes(model, text[0], prompts[0], *_samplers(), n_levels=LEVELS,
                                        speed=0.25, first_frames=3, chunk_frames=4, first_steps=1))
    whole = list(stream_sentence_codes(model, text[0], prompts[0], *_samplers(), n_levels=LEVELS,
                                       speed=0.25, first_frames=3, chunk_frames=4))
    assert [c.shape for c in chunks] == [c.shape for c in whole]
    with pytest.raises(ValueError, match="level-0 steps"):
        list(stream_sentence_codes(model, text[0], prompts[0], *_samplers(), n_levels=LEVELS,
                                   first_steps=0))


def test_the_engine_streams_with_the_configured_first_window_passes(shared_engine, reference_wav,
                                                                    monkeypatch):
    import vall_e.inference.shared_prefix_stream as stream_module

    seen = []
    real = stream_module.fill_window

    def counting(*args, **kwargs):
        seen.append(args[-1])  # steps: the first window's count, None for later windows
        return real(*args, **kwargs)

    monkeypatch.setattr(stream_module, "fill_window", counting)
    engine = shared_engine
    speaker = engine.speaker_for(reference_wav, SamplingParams(), engine.defaults)
    params = SamplingParams(seed=3, speed=0.3)
    monkeypatch.setattr(engine, "defaults", replace(engine.defaults, stream_first_steps=3))
    list(engine.stream("Hello there, how are you today?", speaker, params))
    assert seen[0] == 3 and len(seen) >= 2 and set(seen[1:]) == {None}


def test_streams_draw_the_models_stream_lookahead(shared_engine, reference_wav, monkeypatch):
    from vall_e.inference import shared_prefix_stream as stream_module

    windows = []
    real = stream_module.fill_window

    def recording(model, prefix, text, lengths, codes, window, *rest, **options):
        windows.append(window[0])
        return real(model, prefix, text, lengths, codes, window, *rest, **options)

    monkeypatch.setattr(stream_module, "fill_window", recording)
    engine = shared_engine
    speaker = engine.speaker_for(reference_wav, SamplingParams(), engine.defaults)
    params = SamplingParams(seed=3, speed=0.3)  # slow: a sentence of several windows
    for lookahead in (0, 5):
        windows.clear()
        monkeypatch.setattr(engine, "defaults", replace(engine.defaults, stream_lookahead=lookahead))
        list(engine.stream("Hello there, how are you today?", speaker, params))
        assert len(windows) >= 2
        first, second = windows[0], windows[1]
        assert first.end - second.start == lookahead  # drawn past the first window's commit


def test_stream_first_steps_is_checked_in_the_config():
    from vall_e.config import Config
    from vall_e.errors import ConfigError

    assert Config.from_dict({"inference": {"stream_first_steps": 6}}).inference.stream_first_steps == 6
    with pytest.raises(ConfigError, match="stream_first_steps"):
        Config.from_dict({"inference": {"stream_first_steps": 0}})
    assert Config.from_dict({"inference": {"stream_lookahead": 0}}).inference.stream_lookahead == 0
    with pytest.raises(ConfigError, match="stream_lookahead"):
        Config.from_dict({"inference": {"stream_lookahead": -1}})
    with pytest.raises(ConfigError, match="stream_first_steps"):
        Config.from_dict({"model": {"family": "llm", "layout": "flat"},
                          "inference": {"stream_first_steps": 4}})


def test_streams_generate_the_models_stream_levels_unless_the_caller_sets_levels(shared_engine,
                                                                                 monkeypatch):
    engine = shared_engine
    monkeypatch.setattr(engine, "defaults", replace(engine.defaults, levels=2, stream_levels=1))
    assert engine._stream_levels(engine.defaults) == 1
    assert engine._stream_levels(replace(engine.defaults, levels=1)) == 1
    monkeypatch.setattr(engine, "defaults", replace(engine.defaults, levels=1, stream_levels=2))
    assert engine._stream_levels(replace(engine.defaults, levels=2)) == 2  # the caller's choice
    monkeypatch.setattr(engine, "defaults", replace(engine.defaults, levels=2, stream_levels=None))
    assert engine._stream_levels(engine.defaults) == 2


def test_stream_levels_is_checked_in_the_config():
    from vall_e.config import Config
    from vall_e.errors import ConfigError

    assert Config.from_dict({"inference": {"stream_levels": 4}}).inference.stream_levels == 4
    with pytest.raises(ConfigError, match="stream_levels"):
        Config.from_dict({"inference": {"stream_levels": 99}})


@pytest.mark.parametrize("total", [5, 6, 17, 40])
def test_fit_lengths_sums_to_the_known_span_with_every_position_kept(total):
    torch.manual_seed(total)
    logits = torch.randn(5, 8) * 3
    lengths = decode.fit_lengths(logits, total)
    assert int(lengths.sum()) == total and int(lengths.min()) >= 1
    with pytest.raises(ValueError, match="cannot hold"):
        decode.fit_lengths(logits, 4)


def test_a_continuation_keeps_the_reference_frames_and_returns_only_the_new_ones():
    model = _model()
    text, prompts = _items()
    reference_text = torch.tensor([1, 9, 10, 11])  # BOS + the reference's phonemes, no EOS
    known = torch.randint(0, CODES, (LEVELS, 9))
    codes, lengths = decode.generate_continuation(model, reference_text, known, text, prompts[0],
                                                  *_samplers(seed=4), n_levels=LEVELS)
    again, _ = decode.generate_continuation(model, reference_text, known, text, prompts[0],
                                            *_samplers(seed=4), n_levels=LEVELS)
    for item, length, ids, other in zip(codes, lengths, text, again):
        assert len(length) == len(ids) - 1  # the text's positions after its dropped BOS
        assert item.shape == (LEVELS, int(length.sum())) and int(length.min()) >= 1
        assert torch.equal(item, other)
    # the new frames depend on the known ones: they are context, not ignored
    other_known = (known + 1) % CODES
    changed, _ = decode.generate_continuation(model, reference_text, other_known, text[:1],
                                              prompts[0], *_samplers(seed=4), n_levels=LEVELS)
    assert not torch.equal(changed[0], codes[0])


def test_the_engine_continues_the_reference_with_input_prompt_prefix(shared_engine, reference_wav):
    engine = shared_engine
    params = SamplingParams(seed=3, ar_temp=0.5, input_prompt_prefix=True)
    with pytest.raises(Exception, match="transcript"):
        engine.synthesize(["Hello there."], engine.speaker_for(reference_wav, SamplingParams(),
                                                               engine.defaults), params)
    speaker = engine.speaker_for(reference_wav, params, engine.defaults, prompt_text="A test.")
    (result,) = engine.synthesize(["Hello there."], speaker, params)
    (plain,) = engine.synthesize(["Hello there."], speaker, replace(params, input_prompt_prefix=False))
    assert result.audio.numel() > 0 and result.codes.shape[0] == plain.codes.shape[0]


def test_a_continuation_streams_each_sentence_whole(shared_engine, reference_wav):
    engine = shared_engine
    params = SamplingParams(seed=3, ar_temp=0.5, input_prompt_prefix=True)
    speaker = engine.speaker_for(reference_wav, params, engine.defaults, prompt_text="A test.")
    (whole,) = engine.synthesize(["Hello there."], speaker, params)
    chunks = list(engine.stream("Hello there.", speaker, params))
    assert len(chunks) == 1 and torch.equal(chunks[0], whole.audio)


def test_the_models_pace_scales_the_length_and_speed_stays_relative_to_it(shared_engine,
                                                                           reference_wav):
    engine = shared_engine
    speaker = engine.speaker_for(reference_wav, SamplingParams(), engine.defaults)
    text = "Hi."
    frames = {}
    try:
        # fast speeds: the random model's lengths stay under the fixture's 200-frame cap
        for pace, speed in [(1.0, 4.0), (0.5, 4.0), (1.0, 2.0)]:
            engine.pace = pace
            (result,) = engine.synthesize([text], speaker, SamplingParams(seed=1, speed=speed))
            frames[pace, speed] = result.codes.shape[1]
    finally:
        engine.pace = 1.0
    assert frames[1.0, 2.0] < 200
    assert frames[0.5, 4.0] > frames[1.0, 4.0]  # a slower model pace: longer audio
    assert frames[0.5, 4.0] == frames[1.0, 2.0]  # --speed multiplies the model's pace


def test_a_checkpoints_inference_pace_reaches_the_engine(tmp_path, tiny_codec_dir):
    import json

    directory = save_random_checkpoint("ar_nar", tmp_path / "ckpt", tiny_codec_dir,
                                       alignment="durations", shared_prefix=True)
    meta = json.loads((directory / "vall_e.json").read_text())
    meta["config"]["inference"]["pace"] = 0.8
    (directory / "vall_e.json").write_text(json.dumps(meta))
    assert ARNAREngine.from_checkpoint(directory, device="cpu").pace == 0.8
