"""A bit-flipped archive (bad disk, bad copy) must not restore silently."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.deploy.test_restore_damage import source_archive, sqlite_tables, target
from tests.processes import manage


def digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def test_bit_flip_in_media_is_detected(tmp_path: Path) -> None:
    """The media are stored incompressible (encrypted), so deflate keeps them in stored blocks:
    a flipped byte decodes without a zlib error, and only gzip's CRC32 trailer (never read: the
    tar reader stops at the end-of-archive blocks) or a per-file checksum (the manifest has
    none) would notice. Expected: restore refuses ("damaged"); actual: exit 0 with a corrupted
    attachment that no one can decrypt any more."""
    archive = source_archive(tmp_path)
    original = digests(tmp_path / "source-media")
    data = bytearray(archive.read_bytes())
    data[int(len(data) * 0.7)] ^= 0x01
    flipped = tmp_path / "flipped.tar.gz"
    flipped.write_bytes(bytes(data))
    env, var, restored = target(tmp_path)
    result = manage("restore", str(flipped), "--yes", env=env, check=False)
    output = result.stdout + result.stderr
    if result.returncode == 0:
        changed = sorted(k for k, v in digests(restored).items() if original.get(k) != v)
        raise AssertionError(f"restore succeeded on a damaged archive; corrupted files: {changed}")
    assert "Traceback" not in output, output
    assert sqlite_tables(var) == []
