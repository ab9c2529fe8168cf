"""Restore of damaged archives and non-interactive restores (SQLite, in subprocesses): refused
with a clear error before anything is written. One archive, made once, is damaged per test."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import ROOT, embedded_env, manage


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A backup of a populated instance with incompressible media: (archive, its media)."""
    tmp_path = tmp_path_factory.mktemp("haven-backup-source")
    media = tmp_path / "source-media"
    media.mkdir()
    env = embedded_env(tmp_path / "source-var", STORAGE_DIR=str(media))
    manage("migrate", "--noinput", "-v", "0", env=env)
    fill = "from tests.deploy.instance_data import populate_to_file; populate_to_file(%r, %r)"
    manage("shell", "-c", fill % (str(media), str(tmp_path / "rep.json")), env=env)
    for index in range(6):  # incompressible media, so that the archive's tail is media
        (media / "zz" / f"blob{index}").parent.mkdir(parents=True, exist_ok=True)
        (media / "zz" / f"blob{index}").write_bytes(os.urandom(200_000))
    manage("backup", "--output", str(tmp_path / "backups"), "-v", "0", env=env)
    (archive,) = (tmp_path / "backups").glob("haven-backup-*.tar.gz")
    return archive, media


def target(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    var = tmp_path / "restore-var"
    restored = tmp_path / "restored-media"
    return embedded_env(var, STORAGE_DIR=str(restored)), var, restored


def sqlite_tables(var: Path) -> list[str]:
    files = list(var.rglob("*.sqlite3"))
    tables: list[str] = []
    for db in files:
        with sqlite3.connect(db) as conn:
            tables += [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
    return tables


@pytest.mark.parametrize("fraction", [0.6, 0.95])
def test_truncated_archive_is_refused_cleanly_and_nothing_is_restored(
    source: tuple[Path, Path], tmp_path: Path, fraction: float
) -> None:
    """A backup cut short (disk full during the cron redirect, an interrupted copy) must be
    refused with a clear error, and must not leave a restored database with missing media."""
    data = source[0].read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: int(len(data) * fraction)])
    env, var, _restored = target(tmp_path)
    result = manage("restore", str(cut), "--yes", env=env, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output  # a CommandError, not a crash
    assert "damaged" in output or "not a Haven backup" in output, output
    # Nothing half-restored: the database is still empty, so a retry with a good archive works.
    assert sqlite_tables(var) == [], "the database was restored from a truncated archive"


def test_restore_without_yes_and_no_terminal_fails_cleanly(
    source: tuple[Path, Path], tmp_path: Path
) -> None:
    """Run from cron / `docker compose exec -T` without --yes: stdin is at EOF. Expected: a clear
    'cancelled; nothing was changed' (or 'needs --yes') error, not an EOFError traceback."""
    env, var, _ = target(tmp_path)
    result = subprocess.run(
        [sys.executable, "manage.py", "restore", str(source[0])],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output, output
    assert sqlite_tables(var) == []


def digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def test_bit_flip_in_media_is_detected(source: tuple[Path, Path], tmp_path: Path) -> None:
    """The media are stored incompressible (encrypted), so deflate keeps them in stored blocks:
    a flipped byte decodes without a zlib error, and only gzip's CRC32 trailer (never read: the
    tar reader stops at the end-of-archive blocks) or a per-file checksum (the manifest has
    none) would notice: restore refuses ("damaged") instead of exiting 0 with an attachment no
    one can decrypt any more."""
    archive, media = source
    original = digests(media)
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
