"""The committed shards' manifest: a changed, missing or unlisted file is one clear error."""
import pytest

from vall_e.data.manifest import MANIFEST_FILE, verify_manifest, write_manifest
from vall_e.errors import DataError


@pytest.fixture()
def shards(tmp_path):
    (tmp_path / "codec.json").write_text("{}")
    (tmp_path / "shard-00000.npz").write_bytes(b"codes")
    (tmp_path / "shard-00000.json").write_text('{"utterances": []}')
    return tmp_path


def test_no_manifest_is_not_checked(shards):
    assert verify_manifest(shards) is False


def test_a_matching_manifest_verifies(shards):
    write_manifest(shards)
    assert verify_manifest(shards) is True


@pytest.mark.parametrize("change, message", [
    (lambda d: (d / "shard-00000.npz").write_bytes(b"c0des"), "sha256 does not match"),
    (lambda d: (d / "shard-00000.json").unlink(), "missing"),
    (lambda d: (d / "shard-00001.npz").write_bytes(b"x"), "not listed"),
])
def test_a_mismatch_is_one_line_naming_the_file(shards, change, message):
    write_manifest(shards)
    change(shards)
    with pytest.raises(DataError, match=message) as error:
        verify_manifest(shards)
    assert "\n" not in str(error.value) and "shard-0000" in str(error.value)


def test_a_corrupt_manifest_is_refused(shards):
    (shards / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(DataError, match="unreadable manifest"):
        verify_manifest(shards)
