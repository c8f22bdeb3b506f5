"""`python -m vall_e.quantize` and the quantized directory through the CLI and the Interface."""
import soundfile as sf

from vall_e import GenerationConfig, Interface, InterfaceConfig, SamplerConfig
from vall_e.cli.common import run_main
from vall_e.cli.quantize import main as quantize_main
from vall_e.cli.synthesize import main as synthesize_main


def test_quantize_cli_then_synthesize_with_model_dir2(random_checkpoints, reference_wav, tmp_path, capsys):
    out = tmp_path / "llm-int4"
    code = run_main(quantize_main, ["--model", str(random_checkpoints["llm"]), "--out", str(out),
                                    "--bits", "4", "--group-size", "32", "--skip-head"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "int4, group 32" in printed.out and "smaller" in printed.out and "in memory" in printed.out
    wav = tmp_path / "out.wav"
    code = run_main(synthesize_main, ["Hello.", str(reference_wav), str(wav), "--model", str(out),
                                      "--device", "cpu", "--seed", "0", "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert sf.info(str(wav)).frames > 0


def test_quantize_cli_errors_are_one_line(random_checkpoints, tmp_path, capsys):
    code = run_main(quantize_main, ["--model", str(random_checkpoints["ar_nar"]), "--out",
                                    str(tmp_path / "q"), "--bits", "4", "--dynamic"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--dynamic is int8" in err
    code = run_main(quantize_main, ["--model", str(tmp_path / "missing"), "--out", str(tmp_path / "q")])
    assert code == 2 and "not a directory" in capsys.readouterr().err


def test_interface_opens_a_quantized_ar_nar_directory(random_checkpoints, reference_wav, tmp_path):
    out = tmp_path / "ar-int8"
    assert run_main(quantize_main, ["--model", str(random_checkpoints["ar_nar"]), "--out",
                                    str(out), "--quiet"]) == 0
    interface = Interface(InterfaceConfig(model_path=str(out), device="cpu"))
    speaker = interface.create_speaker(reference_wav)
    output = interface.generate(GenerationConfig(text="Hi there.", speaker=speaker,
                                                 sampler_config=SamplerConfig(temperature=0.0)))
    assert output.audio.numel() > 0
