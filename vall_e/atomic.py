"""Atomic directory writes and strict JSON reads: a leaf module (it imports only ``errors``).

Checkpoints, quantized copies, adapters and codec runs are all written the same way: into a
temporary sibling directory that replaces the final name in one rename, so a crash mid-write
never leaves half a directory under that name. Any writer uses ``staged_directory``; nothing
here knows what a checkpoint holds.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from vall_e.errors import CheckpointError


@contextlib.contextmanager
def staged_directory(directory: str | Path) -> Iterator[Path]:
    """Yield an empty sibling directory to fill; on success it replaces ``directory`` at once,
    on any error it is removed, so a crash never leaves half a checkpoint under the name."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.parent / f".{directory.name}.tmp-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        yield staging
        swap_into_place(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def swap_into_place(staging: Path, directory: Path) -> None:
    """Make ``staging`` be ``directory``, replacing whatever was there."""
    # os.replace cannot overwrite a non-empty directory: move the old one aside first
    old = None
    if directory.exists():
        old = directory.parent / f".{directory.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(directory, old)
    os.replace(staging, directory)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_json(path: str | Path):
    """The parsed JSON of a metadata file; corrupt JSON is one ``CheckpointError``."""
    try:
        return json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"{path} is corrupt (not valid JSON)") from None
