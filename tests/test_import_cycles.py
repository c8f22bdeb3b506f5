"""scripts/check_import_cycles.py: finds cycles (lazy imports included) and vall_e has none."""
import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _checker():
    spec = importlib.util.spec_from_file_location("check_import_cycles",
                                                  REPO / "scripts" / "check_import_cycles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_a_lazy_import_closes_a_cycle(tmp_path, capsys):
    root = _package(tmp_path, {
        "__init__.py": "",
        "a.py": "from pkg.b import f\n",
        "b.py": "def f():\n    from pkg import a\n",
        "c.py": "from . import a\n",  # a relative import into the cycle, not part of it
    })
    assert _checker().main(["--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "import cycle among 2 modules: pkg.a, pkg.b" in out
    assert "pkg.a -> pkg.b -> pkg.a" in out


def test_type_checking_imports_and_parent_packages_do_not_count(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "from pkg.sub.x import X\n",
        "sub/__init__.py": "",
        "sub/x.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.y\nX = 1\n",
        "y.py": "import pkg.sub.x\n",
    })
    assert _checker().main(["--root", str(root)]) == 0



def test_vall_e_has_no_import_cycle(capsys):
    status = _checker().main([])
    assert status == 0, capsys.readouterr().out
