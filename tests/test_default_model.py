"""The embedded default model: packaging a run + codec into one directory, and the shipped one."""
import json

import pytest
import torch
from safetensors.torch import load_file

from vall_e import default_model
from vall_e.checkpoint_format import metadata_file
from vall_e.config import Config
from vall_e.default_model import default_model_dir, directory_megabytes, package_default
from vall_e.errors import CheckpointError, ConfigError
from vall_e.inference.engine import ARNAREngine
from vall_e.sampling import SamplingParams


def noise_reference(tmp_path):
    """One second of quiet noise at 24 kHz, written as ``tmp_path/ref.wav``: a reference voice."""
    import soundfile as sf

    reference = tmp_path / "ref.wav"
    sf.write(reference, 0.1 * torch.randn(24000).numpy(), 24000)
    return reference


def test_package_default_holds_model_and_codec_in_bfloat16(mel_run):
    root, run, codec_dir = mel_run
    out = package_default(run, codec_dir, root / "shipped")
    meta = json.loads((out / "vall_e.json").read_text())
    assert meta["config"]["codec"]["path"] == "codec"
    weights = load_file(str(out / "model.safetensors"))
    original = load_file(str(run / "model.safetensors"))
    assert all(w.dtype == torch.bfloat16 for w in weights.values())
    assert all(torch.equal(weights[k], original[k].to(torch.bfloat16)) for k in original)
    assert load_file(str(out / "codec" / "model.safetensors"))["rvq.codebooks"].dtype == torch.bfloat16
    assert directory_megabytes(out) < directory_megabytes(run) + directory_megabytes(codec_dir)


def test_packaged_default_synthesizes_from_its_own_codec_folder(mel_run, tmp_path):
    root, run, codec_dir = mel_run
    out = package_default(run, codec_dir, root / "shipped2")
    moved = tmp_path / "elsewhere"
    out.rename(moved)  # nothing may point back at the run or the codec's original place
    codec_dir.rename(root / "codec_gone")
    try:
        engine = ARNAREngine.from_checkpoint(moved, "cpu")
        reference = noise_reference(tmp_path)
        result = engine.tts("Hello there.", reference, SamplingParams(ar_temp=0.0))
        assert result.audio.numel() > 0 and result.sample_rate == 24000
    finally:
        (root / "codec_gone").rename(codec_dir)


def test_package_default_ships_levels_and_int8_that_still_synthesize(mel_run, tmp_path):
    from vall_e.quantize.checkpoint import is_quantized, read_manifest

    root, run, codec_dir = mel_run
    out = package_default(run, codec_dir, tmp_path / "shipped", levels=1, int8=True)
    meta = json.loads((out / "vall_e.json").read_text())
    assert meta["config"]["inference"]["levels"] == 1
    assert is_quantized(out) and read_manifest(out)["spec"]["bits"] == 8
    assert (out / "codec" / "model.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shipped"]  # no staging copy left
    engine = ARNAREngine.from_checkpoint(out, "cpu")
    reference = noise_reference(tmp_path)
    result = engine.tts("Hello there.", reference, SamplingParams(ar_temp=0.0))
    assert result.audio.numel() > 0


def test_package_default_ships_sampler_defaults_the_engine_uses(mel_run, tmp_path):
    root, run, codec_dir = mel_run
    out = package_default(run, codec_dir, tmp_path / "shipped", sampling={"ar_temp": 0.0, "top_k": 5})
    engine = ARNAREngine.from_checkpoint(out, "cpu")
    assert (engine.default_sampling.ar_temp, engine.default_sampling.top_k) == (0.0, 5)
    reference = noise_reference(tmp_path)
    # no params: the shipped greedy AR (plain sampling at temperature 1 would differ run to run)
    first, second = (engine.tts("Hello there.", reference).codes for _ in range(2))
    assert torch.equal(first, second)


def test_package_default_refuses_a_pace_for_an_unaligned_run_before_writing(mel_run, tmp_path):
    root, run, codec_dir = mel_run  # the tiny run is unaligned: it has no durations to pace
    with pytest.raises(ConfigError, match="inference.pace needs a phoneme-aligned"):
        package_default(run, codec_dir, tmp_path / "shipped", pace=0.8)
    assert not (tmp_path / "shipped").exists()


def test_package_default_ships_a_prompt_length_the_engine_uses(mel_run, tmp_path):
    root, run, codec_dir = mel_run
    out = package_default(run, codec_dir, tmp_path / "shipped", input_prompt_length=0.5)
    engine = ARNAREngine.from_checkpoint(out, "cpu")
    assert engine.defaults.input_prompt_length == 0.5
    reference = noise_reference(tmp_path)  # 1 s: the prompt keeps half
    assert engine.create_speaker(reference).codes.shape[-1] == 25  # 0.5 s at 50 Hz


def test_package_default_ships_repeat_short_prompt_the_engine_uses(mel_run, tmp_path):
    root, run, codec_dir = mel_run
    out = package_default(run, codec_dir, tmp_path / "shipped", input_prompt_length=3.0,
                          repeat_short_prompt="all")
    engine = ARNAREngine.from_checkpoint(out, "cpu")
    assert engine.defaults.repeat_short_prompt == "all"
    reference = noise_reference(tmp_path)  # 1 s, a third of the prompt
    speaker = engine.create_speaker(reference)
    assert engine._prompt(speaker, engine.defaults).shape[-1] == 150  # 3 s at 50 Hz


@pytest.mark.parametrize("levels", ["fine", "all"])
def test_package_default_ships_a_voice_match_the_engine_decodes_with(mel_run, tmp_path, levels):
    from dataclasses import replace

    from vall_e.sampling import SamplingParams

    root, run, codec_dir = mel_run
    out = package_default(run, codec_dir, tmp_path / "shipped", voice_match=0.5,
                          voice_match_levels=levels)
    engine = ARNAREngine.from_checkpoint(out, "cpu")
    assert (engine.defaults.voice_match, engine.defaults.voice_match_levels) == (0.5, levels)
    reference = noise_reference(tmp_path)
    speaker = engine.create_speaker(reference)
    params = SamplingParams(seed=1)
    (matched,) = engine.synthesize(["hello there"], speaker, params)
    (plain,) = engine.synthesize(["hello there"], speaker, params,
                                 replace(engine.defaults, voice_match=0.0))
    other = "all" if levels == "fine" else "fine"
    (other_way,) = engine.synthesize(["hello there"], speaker, params,
                                     replace(engine.defaults, voice_match_levels=other))
    assert torch.equal(matched.codes, plain.codes)  # the same speech, decoded toward the voice
    assert not torch.allclose(matched.audio, plain.audio)
    assert not torch.allclose(matched.audio, other_way.audio)  # the levels setting is used
    streamed = torch.cat(list(engine.stream("hello there", speaker, params)))
    assert streamed.numel() == matched.audio.numel()


def test_voice_match_is_checked_in_the_config():
    with pytest.raises(ConfigError, match="inference.voice_match must be between 0 and 1"):
        Config.from_dict({"codec": {"name": "mel_rvq"}, "inference": {"voice_match": 1.5}})
    with pytest.raises(ConfigError, match="matches mel_rvq's log-mel frames"):
        Config.from_dict({"codec": {"name": "encodec"}, "inference": {"voice_match": 0.2}})
    with pytest.raises(ConfigError, match="inference.voice_match_levels must be one of"):
        Config.from_dict({"codec": {"name": "mel_rvq"}, "inference": {"voice_match_levels": "low"}})


def test_package_default_refuses_a_non_positive_prompt_length_before_writing(mel_run, tmp_path):
    root, run, codec_dir = mel_run
    with pytest.raises(ConfigError, match="inference.input_prompt_length"):
        package_default(run, codec_dir, tmp_path / "shipped", input_prompt_length=0.0)
    assert not (tmp_path / "shipped").exists()


@pytest.mark.parametrize("sampling, match", [({"top_p": 1.5}, "--top-p"),
                                             ({"tempreature": 0.6}, "unknown sampler setting")])
def test_package_default_refuses_impossible_sampler_defaults_before_writing(mel_run, tmp_path,
                                                                            sampling, match):
    from vall_e.errors import SamplingError

    root, run, codec_dir = mel_run
    with pytest.raises(SamplingError, match=match):
        package_default(run, codec_dir, tmp_path / "shipped", sampling=sampling)
    assert not any(tmp_path.iterdir())


def test_package_default_refuses_impossible_levels_before_writing(mel_run, tmp_path):
    from vall_e.errors import ConfigError

    root, run, codec_dir = mel_run
    with pytest.raises(ConfigError, match="inference.levels"):
        package_default(run, codec_dir, tmp_path / "shipped", levels=5)
    assert not any(tmp_path.iterdir())


def test_package_default_refuses_another_codec(tiny_run, tmp_path, mel_run):
    _, _, codec_dir = mel_run
    with pytest.raises(CheckpointError, match="mel_rvq"):
        package_default(tiny_run.checkpoint, codec_dir, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_run_in_the_old_layout_ships_in_the_new_one(mel_run, tmp_path, monkeypatch):
    """A run written before vall_e.json (metadata in config.json, as runs/default's are)
    packages, and the package writes vall_e.json; default_model_dir accepts either layout."""
    import shutil

    root, run, codec_dir = mel_run
    old = tmp_path / "old_run"
    shutil.copytree(run, old)
    (old / "vall_e.json").rename(old / "config.json")
    out = package_default(old, codec_dir, tmp_path / "shipped")
    assert not (out / "config.json").exists()
    assert json.loads((out / "vall_e.json").read_text())["config"]["codec"]["path"] == "codec"
    for shipped in (old, out):
        monkeypatch.setattr(default_model, "DEFAULT_MODEL_DIR", shipped)
        assert default_model_dir() == shipped


def test_missing_default_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(default_model, "DEFAULT_MODEL_DIR", tmp_path / "absent")
    with pytest.raises(CheckpointError, match="pass --model"):
        default_model_dir()


@pytest.mark.skipif(metadata_file(default_model.DEFAULT_MODEL_DIR) is None,
                    reason="the embedded default model is not in this checkout")
def test_shipped_default_speaks_a_short_sentence(tmp_path):
    from vall_e.voices import shipped_voices

    voices = shipped_voices()
    assert voices, "the default model ships with reference voices in data/voices"
    assert directory_megabytes(default_model.DEFAULT_MODEL_DIR) <= 40
    engine = ARNAREngine.from_checkpoint(default_model_dir(), "cpu")
    # what a user gets: the model's own sampler settings, seeded so the test is repeatable
    params = engine.default_sampling.with_changes(seed=0)
    result = engine.tts("Hello.", next(iter(voices)), params)
    seconds = result.audio.numel() / result.sample_rate
    assert result.stopped and 0.2 < seconds < 3.0


@pytest.mark.skipif(metadata_file(default_model.DEFAULT_MODEL_DIR) is None,
                    reason="the embedded default model is not in this checkout")
def test_stt_on_the_tts_only_default_is_one_line(capsys):
    from vall_e.cli.common import run_main
    from vall_e.cli.synthesize import main

    code = run_main(main, ["", "kumo", "--task", "stt"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "not trained for stt" in err[0]


def test_package_default_ships_a_critic_in_its_dtype_and_refuses_candidates_it_cannot_rank(mel_run,
                                                                                         tmp_path):
    from vall_e.align.critic import CRITIC_DIR, CriticConfig, PhonemeCritic, save_critic

    root, run, codec_dir = mel_run
    vocab = ARNAREngine.from_checkpoint(run, "cpu").tokenizer.vocab
    critic_dir = save_critic(PhonemeCritic(CriticConfig(len(vocab), 64, d_model=8)),
                             tmp_path / "critic", vocab)
    out = package_default(run, codec_dir, tmp_path / "shipped", critic_dir=critic_dir)
    weights = load_file(str(out / CRITIC_DIR / "critic.safetensors"))
    assert all(w.dtype == torch.bfloat16 for w in weights.values())
    assert ARNAREngine.from_checkpoint(out, "cpu").critic is not None
    with pytest.raises(ConfigError, match="needs a phoneme critic"):
        package_default(run, codec_dir, tmp_path / "no-critic", candidates=2)
    with pytest.raises(ConfigError, match="inference.candidates"):  # the tiny run has no shared prefix
        package_default(run, codec_dir, tmp_path / "unaligned", candidates=2, critic_dir=critic_dir)
    assert not (tmp_path / "no-critic").exists() and not (tmp_path / "unaligned").exists()
