"""A sha256 manifest of a prepared-shards directory (the committed default training data).

``write_manifest(dir)`` records the sha256 of ``codec.json`` and every shard file in
``manifest.json``; ``verify_manifest(dir)`` checks them and raises one ``DataError`` line naming
the first file that is missing, changed or unlisted. A directory without a manifest is not
checked (a user's own prepared data); ``prepare`` and ``train`` verify one that has it.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from vall_e.errors import DataError

MANIFEST_FILE = "manifest.json"
FORMAT = "vall_e.shards_manifest"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _data_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.iterdir()
                  if p.is_file() and (p.name == "codec.json" or p.name.startswith("shard-")))


def write_manifest(data_dir: str | Path) -> Path:
    data_dir = Path(data_dir)
    files = {p.name: sha256_file(p) for p in _data_files(data_dir)}
    path = data_dir / MANIFEST_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"format": FORMAT, "files": files}, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def verify_manifest(data_dir: str | Path) -> bool:
    """True when a manifest exists and every file matches; False when there is none."""
    data_dir = Path(data_dir)
    path = data_dir / MANIFEST_FILE
    if not path.is_file():
        return False
    try:
        listed = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: unreadable manifest ({exc}); restore it (git checkout) or "
                        "rebuild the shards") from None
    present = {p.name for p in _data_files(data_dir)}
    for name, expected in sorted(listed.items()):
        if name not in present:
            raise DataError(f"{data_dir / name}: listed in {MANIFEST_FILE} but missing; restore it "
                            "(git checkout) or rebuild the shards")
        if sha256_file(data_dir / name) != expected:
            raise DataError(f"{data_dir / name}: sha256 does not match {MANIFEST_FILE}; the shard "
                            "changed or is corrupt: restore it (git checkout) or rebuild the shards")
    extra = sorted(present - set(listed))
    if extra:
        raise DataError(f"{data_dir / extra[0]}: not listed in {MANIFEST_FILE}; remove it or "
                        "rewrite the manifest (prepare does when it adds shards)")
    return True
