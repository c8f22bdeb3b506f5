"""scripts/make_dev_split.py: the dev split shares no sentence and no reference with the
evaluation protocol's items (sentences 1-5, each speaker's first reference)."""
import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("make_dev_split", REPO / "scripts" / "make_dev_split.py")
dev = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dev)


def _refs(root: Path, speakers: int, per_speaker: int) -> Path:
    for s in range(speakers):
        for r in range(per_speaker):
            folder = root / f"spk{s}"
            folder.mkdir(parents=True, exist_ok=True)
            for suffix in (".wav", ".txt"):
                (folder / f"u{r:02d}{suffix}").write_text(f"{s}-{r}")
    return root


def test_the_dev_split_takes_other_sentences_and_each_speakers_second_reference(tmp_path):
    refs = _refs(tmp_path / "eval_seen", speakers=3, per_speaker=4)
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("\n".join(f"sentence {i}." for i in range(1, 21)) + "\n")
    linked = dev.make_dev_split([str(refs)], str(sentences), str(tmp_path / "dev"))
    assert (tmp_path / "dev" / "sentences.txt").read_text().split("\n")[:5] == [
        f"sentence {i}." for i in range(11, 16)]
    assert [w.name for w in linked] == ["u01.wav"] * 3
    assert sorted(p.name for p in (tmp_path / "dev" / "eval_seen" / "spk0").iterdir()) == ["u01.txt", "u01.wav"]
    # run twice: the links are replaced, not an error
    dev.make_dev_split([str(refs)], str(sentences), str(tmp_path / "dev"))


def test_too_few_sentences_or_references_is_one_line(tmp_path):
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("only one.\n")
    with pytest.raises(SystemExit, match="needs 15"):
        dev.make_dev_split([str(_refs(tmp_path / "a", 1, 2))], str(sentences), str(tmp_path / "dev"))
    sentences.write_text("\n".join(f"s{i}." for i in range(20)))
    with pytest.raises(SystemExit, match="second one"):
        dev.make_dev_split([str(_refs(tmp_path / "b", 1, 1))], str(sentences), str(tmp_path / "dev"))
