"""`python -m vall_e.codecs.train` at toy scale: trains, exports a loadable codec, resumes."""
from __future__ import annotations

import json

import pytest
import torch
import yaml

from tests.conftest import REPO, run_module
from vall_e.codecs import get_codec
from vall_e.codecs.mel.train_config import CodecTrainConfig
from vall_e.config import CodecConfig
from vall_e.errors import ConfigError

TOY = REPO / "configs" / "codec" / "toy.yaml"


def test_recipes_load():
    for path in sorted((REPO / "configs" / "codec").glob("*.yaml")):
        config = CodecTrainConfig.from_yaml(path)
        assert config.total_steps > 0
        assert "python -m vall_e.codecs.train --yaml" in path.read_text()
    real = CodecTrainConfig.from_yaml(REPO / "configs" / "codec" / "mel50.yaml")
    assert (real.levels, real.codebook_size) == (8, 1024)


@pytest.mark.slow
def test_bad_keys_and_values_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['levls'\].*valid keys"):
        CodecTrainConfig.from_dict({"levls": 4})
    with pytest.raises(ConfigError, match="precision"):
        CodecTrainConfig.from_dict({"precision": "16"})
    with pytest.raises(ConfigError, match="batch_size"):
        CodecTrainConfig.from_dict({"batch_size": 0})
    for levels in ([0], [9], [True], ["4"]):
        with pytest.raises(ConfigError, match="quantized_levels .* from 1 to levels"):
            CodecTrainConfig.from_dict({"levels": 8, "quantized_levels": levels})
    bad = tmp_path / "bad.yaml"
    bad.write_text("codebook_sise: 4\n")
    proc = run_module("vall_e.codecs.train", "--yaml", str(bad), check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "codebook_sise" in proc.stderr and "valid keys" in proc.stderr


@pytest.mark.slow
def test_train_export_resume(tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "run"
    run_module("vall_e.data", "synthetic", "--output", str(corpus), "--utterances", "3")
    args = ("vall_e.codecs.train", "--input", str(corpus), "--output", str(out), "--quiet")
    run_module(*args, "--yaml", str(TOY))
    spec = json.loads((out / "codec" / "config.json").read_text())
    assert spec["trained_steps"] == 4 and spec["levels"] == 2
    codec = get_codec(CodecConfig(name="mel_rvq", path=str(out / "codec"), n_levels=2))
    codes = codec.encode(torch.randn(4800) * 0.1)
    assert codes.shape == (1, 2, 10) and int(codes.max()) < 16
    kmeans_time = (out / "kmeans.safetensors").stat().st_mtime_ns

    # more steps in the recipe: the rerun continues from step 4 instead of starting over
    longer = tmp_path / "longer.yaml"
    longer.write_text(yaml.safe_dump({**yaml.safe_load(TOY.read_text()), "quantized_steps": 4}))
    proc = run_module(*args[:-1], "--yaml", str(longer))
    assert "resuming from step 4 of 6" in proc.stderr and "k-means: reusing" in proc.stderr
    assert json.loads((out / "codec" / "config.json").read_text())["trained_steps"] == 6
    assert (out / "kmeans.safetensors").stat().st_mtime_ns == kmeans_time
    assert not [p for p in out.iterdir() if p.name.startswith(".codec")]  # no staging left over

    # the codec-defining settings may not change under a run
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**yaml.safe_load(TOY.read_text()), "codebook_size": 8}))
    proc = run_module(*args, "--yaml", str(other), check=False)
    assert proc.returncode == 2 and "codebook_size" in proc.stderr


@pytest.mark.parametrize("quantized_levels, expected", [([], {2}), ([1], {1}), ([1, 2], {1, 2})])
def test_quantized_stage_feeds_the_drawn_level_counts(quantized_levels, expected):
    from vall_e.codecs.mel.training import VocoderModule, spec_for

    config = CodecTrainConfig.from_dict({**yaml.safe_load(TOY.read_text()), "clean_steps": 0,
                                         "quantized_levels": quantized_levels})
    spec = spec_for(config)
    module = VocoderModule(spec, torch.randn(spec.levels, config.codebook_size, spec.stack * spec.n_mels),
                           config)
    asked, quantize = [], module.model.quantize
    module.model.quantize = lambda mel, levels: (asked.append(levels), quantize(mel, levels))[1]
    module.log_dict = lambda *args, **kwargs: None  # no trainer to log to
    torch.manual_seed(0)
    for _ in range(12):
        assert torch.isfinite(module.training_step(torch.randn(1, 4800) * 0.1, 0))
    assert set(asked) == expected


def _toy_audio(folder, n=3):
    import soundfile as sf

    folder.mkdir()
    generator = torch.Generator().manual_seed(0)
    for i in range(n):
        sf.write(folder / f"{i}.wav", (0.1 * torch.randn(12000, generator=generator)).numpy(), 24000)
    return folder


def test_init_from_continues_an_exported_codec_with_its_codebooks(tmp_path):
    from safetensors.torch import load_file

    from vall_e.codecs.mel.codec import load_mel_model, save_random_mel
    from vall_e.codecs.mel.vocoder import VocoderSpec
    from vall_e.codecs.train import train_codec

    toy = yaml.safe_load(TOY.read_text())
    start = save_random_mel(tmp_path / "start", levels=2, codebook_size=16,
                            vocoder=VocoderSpec(dim=32, intermediate=64, blocks=1))
    audio = _toy_audio(tmp_path / "audio")
    config = CodecTrainConfig.from_dict({**toy, "input": str(audio), "output": str(tmp_path / "run"),
                                         "clean_steps": 0, "quantized_steps": 2,
                                         "learning_rate": 1e-9, "init_from": str(start)})
    out = train_codec(config, quiet=True)
    before, after = load_mel_model(start), load_mel_model(out)
    # k-means was skipped: the codes keep their meaning, so a model trained on them still fits
    assert torch.equal(after.rvq.codebooks, before.rvq.codebooks)
    assert torch.equal(load_file(str(tmp_path / "run" / "kmeans.safetensors"))["codebooks"],
                       before.rvq.codebooks)
    # the vocoder started from the exported one (a 1e-9 learning rate barely moves it)
    for name, weight in before.vocoder.state_dict().items():
        assert torch.allclose(after.vocoder.state_dict()[name], weight, atol=1e-6), name


def test_init_from_refuses_a_codec_of_another_shape(tmp_path):
    from vall_e.codecs.mel.codec import save_random_mel
    from vall_e.codecs.mel.vocoder import VocoderSpec
    from vall_e.codecs.train import train_codec

    toy = yaml.safe_load(TOY.read_text())
    other = save_random_mel(tmp_path / "other", levels=2, codebook_size=16,
                            vocoder=VocoderSpec(dim=16, intermediate=32, blocks=1))
    config = CodecTrainConfig.from_dict({**toy, "input": str(_toy_audio(tmp_path / "audio")),
                                         "output": str(tmp_path / "run"), "init_from": str(other)})
    with pytest.raises(ConfigError, match="init_from .* other levels, codebook_size or vocoder"):
        train_codec(config, quiet=True)
    assert not (tmp_path / "run" / "kmeans.safetensors").exists()
