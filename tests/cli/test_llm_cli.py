"""`python -m vall_e` routes LLM-TTS checkpoints (ours and plain Orpheus directories) by family."""
import soundfile as sf

from tests.cli.test_synthesize_errors import assert_one_line_error, call
from vall_e.cli.common import run_main
from vall_e.cli.synthesize import main


def test_llm_checkpoint_synthesizes_through_the_cli(tiny_llm_run, tmp_path, capsys):
    out = tmp_path / "llm.wav"
    code = run_main(main, ["Hello there.", str(tiny_llm_run.reference()), str(out), "--model",
                           str(tiny_llm_run.checkpoint), "--device", "cpu", "--seed", "0",
                           "--max-ar-steps", "120", "--top-k", "50"])
    err = capsys.readouterr().err
    assert code == 0, err
    data, rate = sf.read(out)
    assert rate == 24000 and len(data) == 60 * 320  # 120 ids = 60 frames of 2 levels
    assert "reached --max-ar-steps 120 and was cut off" in err  # named, never silent


def test_yaml_of_an_llm_run_selects_its_latest_checkpoint(tiny_llm_run, tmp_path, capsys):
    out = tmp_path / "llm.wav"
    code = run_main(main, ["Hi.", str(tiny_llm_run.reference()), str(out), "--yaml",
                           str(tiny_llm_run.config_path), "--device", "cpu", "--max-ar-steps", "40",
                           "--quiet"])
    assert code == 0 and out.is_file()


def test_orpheus_voice_name_in_place_of_the_reference(orpheus_dir, snac_dir, tmp_path, capsys):
    out = tmp_path / "tara.wav"
    code = run_main(main, ["Hello <sigh>.", "tara", str(out), "--model", str(orpheus_dir),
                           "--codec-path", str(snac_dir), "--device", "cpu", "--ar-temp", "0",
                           "--max-ar-steps", "28"])
    assert code == 0, capsys.readouterr().err
    assert len(sf.read(out)[0]) == 4 * 2048  # 28 ids = 4 SNAC frames


def test_unknown_voice_lists_the_known_ones(orpheus_dir, snac_dir, tmp_path, capsys):
    code, err = call(capsys, "Hi.", "nobody", str(tmp_path / "o.wav"), "--model", str(orpheus_dir),
                     "--codec-path", str(snac_dir), "--device", "cpu")
    assert_one_line_error(code, err, "nobody", "tara")


def test_ar_nar_features_are_refused_for_llm_models(tiny_llm_run, tmp_path, capsys):
    ref = str(tiny_llm_run.reference())
    model = ["--model", str(tiny_llm_run.checkpoint), "--device", "cpu"]
    code, err = call(capsys, "Hi.", ref, str(tmp_path / "o.wav"), *model, "--refine-on-stop")
    assert_one_line_error(code, err, "--refine-on-stop", "AR+NAR")
    code, err = call(capsys, "", ref, *model, "--task", "stt")
    assert_one_line_error(code, err, "stt")
