"""prepare(): both corpus layouts, bad files skipped and recorded, resumable reruns, CLI."""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vall_e.cli.prepare import main
from vall_e.data.prepare import discover, prepare
from vall_e.data.shards import DataError, load_prepared
from vall_e.errors import CodecMismatchError

pytestmark = pytest.mark.slow  # prepares a corpus end to end (codec encoding of every file)

# The size of the synthetic corpus made in conftest.py (not imported: a `conftest` module name
# is ambiguous once tests/conftest.py exists too).
N_SPEAKERS, N_PER_SPEAKER = 2, 3
N_FILES = N_SPEAKERS * N_PER_SPEAKER
REPO = Path(__file__).resolve().parents[2]


def _failed_lines(out: Path) -> dict[str, str]:
    rows = [json.loads(line) for line in (out / "failed.jsonl").read_text().splitlines()]
    return {"/".join(Path(row["source"]).parts[-2:]): row["reason"] for row in rows}


def test_speaker_layout(config, codec, corpus, tmp_path):
    out = tmp_path / "out"
    report = prepare(config, corpus, out, progress=False)  # loads the codec from config.codec
    assert (report.done, report.failed, report.skipped_existing) == (N_FILES, 0, 0)
    assert 0.5 * N_FILES < report.seconds < 3.0 * N_FILES
    info, utts = load_prepared(out, expected=codec.info)
    assert [u.id for u in utts] == [f"spk{s:02d}/utt{u:04d}" for s in range(N_SPEAKERS)
                                    for u in range(N_PER_SPEAKER)]
    assert {u.speaker for u in utts} == {"spk00", "spk01"}
    first = utts[0]
    assert first.text == (corpus / "spk00" / "utt0000.txt").read_text().strip()
    assert " " in first.phonemes and len(first.phonemes) > len(first.text.split())
    assert first.codes.shape[0] == info.n_levels == 2
    # Trimmed two- or three-word synthetic audio lasts 0.5-3 s: 37-225 frames at 75 Hz.
    assert all(37 < u.codes.shape[1] < 225 for u in utts)
    assert len(list(out.glob("shard-*.npz"))) == -(-N_FILES // config.data.shard_size)


def test_ljspeech_layout(config, codec, ljspeech_corpus, tmp_path):
    out = tmp_path / "out"
    report = prepare(config, ljspeech_corpus, out, progress=False, codec=codec)
    assert report.done == N_FILES and report.failed == 0
    _, utts = load_prepared(out)
    assert {u.speaker for u in utts} == {"LJTest"}
    assert utts[0].id == "LJTest/spk00_utt0000"
    # The third column (normalized text) wins over the second (here upper-cased).
    assert not utts[0].text.isupper()


def test_bad_files_are_reported_and_skipped(config, codec, corpus, tmp_path, capsys):
    (corpus / "spk00" / "utt0001.wav").write_bytes(b"RIFF not really a wav file")
    (corpus / "spk01" / "utt0000.txt").unlink()
    (corpus / "spk01" / "utt0001.txt").write_text("  \n")
    out = tmp_path / "out"
    report = prepare(config, corpus, out, progress=False, codec=codec)
    assert (report.done, report.failed) == (N_FILES - 3, 3)
    reasons = _failed_lines(out)
    assert set(reasons) == {"spk00/utt0001.wav", "spk01/utt0000.wav", "spk01/utt0001.wav"}
    assert "cannot read audio" in reasons["spk00/utt0001.wav"]
    assert "missing transcript" in reasons["spk01/utt0000.wav"]
    assert "empty" in reasons["spk01/utt0001.wav"]
    stderr = capsys.readouterr().err.splitlines()
    assert len([line for line in stderr if line.startswith("skipped ")]) == 3
    assert any("missing transcript" in line for line in stderr)
    assert len(load_prepared(out)[1]) == N_FILES - 3


def test_length_limits(config, codec, corpus, tmp_path):
    config = copy.deepcopy(config)
    config.data.max_seconds = 0.3
    report = prepare(config, corpus, tmp_path / "long", progress=False, codec=codec)
    assert (report.done, report.failed) == (0, N_FILES)
    assert all("data.max_seconds" in r for r in _failed_lines(tmp_path / "long").values())
    config.data.min_seconds, config.data.max_seconds = 60.0, 120.0
    report = prepare(config, corpus, tmp_path / "short", progress=False, codec=codec)
    assert (report.done, report.failed) == (0, N_FILES)
    assert all("data.min_seconds" in r for r in _failed_lines(tmp_path / "short").values())


def test_rerun_skips_finished_and_processes_only_new(config, codec, corpus, tmp_path):
    (corpus / "spk00" / "utt0002.txt").unlink()
    out = tmp_path / "out"
    prepare(config, corpus, out, progress=False, codec=codec)
    again = prepare(config, corpus, out, progress=False, codec=codec)
    assert (again.done, again.skipped_existing, again.skipped_failed, again.failed) == (
        0, N_FILES - 1, 1, 0)

    new = corpus / "spk01" / "utt9999.wav"
    new.write_bytes((corpus / "spk01" / "utt0000.wav").read_bytes())
    new.with_suffix(".txt").write_text("A new sentence.\n")
    third = prepare(config, corpus, out, progress=False, codec=codec)
    assert (third.done, third.skipped_existing) == (1, N_FILES - 1)
    newest = sorted(out.glob("shard-*.json"))[-1]
    assert [r["id"] for r in json.loads(newest.read_text())["utterances"]] == ["spk01/utt9999"]

    (corpus / "spk00" / "utt0002.txt").write_text("The transcript is back.\n")
    retried = prepare(config, corpus, out, retry_failed=True, progress=False, codec=codec)
    assert (retried.done, retried.failed) == (1, 0)
    assert len(load_prepared(out)[1]) == N_FILES + 1
    assert not (out / "failed.jsonl").exists()


def test_output_made_with_another_codec_is_refused(config, codec, corpus, tmp_path):
    out = tmp_path / "out"
    prepare(config, corpus, out, progress=False, codec=codec)
    other = copy.deepcopy(config)
    other.codec.n_levels = 4
    with pytest.raises(CodecMismatchError, match="n_levels"):
        prepare(other, corpus, out, progress=False)


def test_bad_input_dir(config, codec, tmp_path):
    with pytest.raises(DataError, match="input directory not found"):
        prepare(config, tmp_path / "missing", tmp_path / "out", progress=False, codec=codec)
    (tmp_path / "empty" / "speaker").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("no audio here")
    with pytest.raises(DataError, match="no corpus found") as exc:
        prepare(config, tmp_path / "empty", tmp_path / "out", progress=False, codec=codec)
    assert "\n" not in str(exc.value)


def test_unknown_language_is_one_error(config, codec, corpus, tmp_path):
    config = copy.deepcopy(config)
    config.data.language = "xx-nowhere"
    with pytest.raises(DataError, match="data.language"):
        prepare(config, corpus, tmp_path / "out", progress=False, codec=codec)


def test_discover_is_sorted_and_finds_other_formats(corpus):
    import soundfile as sf

    data, sr = sf.read(corpus / "spk00" / "utt0000.wav")
    (corpus / "spk00" / "book1").mkdir()
    sf.write(corpus / "spk00" / "book1" / "a.flac", data, sr)
    items = discover(corpus)
    assert [i.source for i in items] == sorted(i.source for i in items)
    assert "spk00/book1/a" in [i.id for i in items]
    assert len(items) == N_FILES + 1


def _yaml(tmp_path: Path, codec_dir: Path, extra: str = "") -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(f"codec:\n  name: encodec\n  path: {codec_dir}\n  n_levels: 2\n"
                    f"data:\n  shard_size: 4\n{extra}")
    return path


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "vall_e.data", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_cli_prepare_subprocess(codec_dir, corpus, tmp_path):
    for extra in sorted(corpus.glob("spk01/*")):  # one speaker is enough here; keeps it quick
        extra.unlink()
    out = tmp_path / "out"
    done = _cli("prepare", "--yaml", str(_yaml(tmp_path, codec_dir)), "--input", str(corpus),
                "--output", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # --quiet: no summary
    assert len(load_prepared(out)[1]) == N_PER_SPEAKER

    bad = _cli("prepare", "--yaml", str(_yaml(tmp_path, codec_dir, "  shard_sise: 4\n")),
               "--input", str(corpus), "--output", str(out))
    assert bad.returncode == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "shard_sise" in lines[0]


def test_cli_errors_and_help(codec_dir, tmp_path, capsys):
    assert main(["prepare", "--yaml", str(_yaml(tmp_path, codec_dir)),
                 "--input", str(tmp_path / "missing"), "--output", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("error: input directory not found")
    with pytest.raises(SystemExit) as exc:
        main(["prepare", "--help"])
    assert exc.value.code == 0
    usage = capsys.readouterr().out
    for flag in ("--yaml", "--input", "--output", "--language", "--retry-failed", "--quiet",
                 "--device"):
        assert flag in usage
