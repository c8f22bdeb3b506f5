"""scripts/paragraph_wer.py: one row per (reference, seed, batch size) with both WERs, a total
per batch size, and the wavs saved when asked."""
import importlib.util
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("paragraph_wer", REPO / "scripts" / "paragraph_wer.py")
paragraph = importlib.util.module_from_spec(spec)
spec.loader.exec_module(paragraph)


def test_rows_and_totals_for_each_batch_size(tmp_path, random_checkpoints, reference_wav, capsys):
    refs = tmp_path / "refs" / "spk0"
    refs.mkdir(parents=True)
    shutil.copy(reference_wav, refs / "r0.wav")
    (refs / "r0.txt").write_text("A tone.")
    text = tmp_path / "text.txt"
    text.write_text("One short sentence. Another one follows it. And a third one ends it.")
    save = tmp_path / "wavs"
    assert paragraph.main(["--refs", str(tmp_path / "refs"), "--model", str(random_checkpoints["ar_nar"]),
                           "--text", str(text), "--seeds", "3", "--batch-sizes", "1", "3",
                           "--judges", "quick", "--threads", "1", "--save", str(save)]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| spk0 |")]
    assert len(rows) == 2
    # the quick judge hears nothing: every word is an error, whole and per piece
    assert all(row.split("|")[5].strip() == "100.0%" and row.split("|")[6].strip() == "100.0%"
               for row in rows)
    assert "batch 1: WER whole 100.0%, per piece 100.0%" in out
    assert "batch 3:" in out
    assert sorted(p.name for p in save.iterdir()) == ["spk0-s3-b1.wav", "spk0-s3-b3.wav"]
