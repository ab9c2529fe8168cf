"""``manage.py backup`` / ``restore``: a full round trip on PostgreSQL and on SQLite (users,
servers, messages byte for byte, media files), and every refusal of ``restore``."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from ops.backup import AUDIT_MEMBER, MANIFEST, prune_archives, read_manifest
from tests.deploy.instance_data import populate, read_report
from tests.helpers import Api, haven_settings
from tests.processes import ROOT, embedded_env, manage

pytestmark = pytest.mark.django_db(transaction=True)


def dump(output: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(output)
    return sorted(records, key=lambda r: (r["model"], str(r["pk"])))


def dumpdata_here() -> list[dict[str, Any]]:
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    return dump(out.getvalue())


@pytest.fixture
def media(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "media"
    root.mkdir()
    with haven_settings(storage_dir=root):
        yield root


def backup_here(output: Path) -> Path:
    call_command("backup", "--output", str(output), verbosity=0)
    (archive,) = output.glob("haven-backup-*.tar.gz")
    return archive


def check_archive(archive: Path, vendor: str) -> dict[str, Any]:
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    manifest = read_manifest(archive)
    assert manifest["database"]["vendor"] == vendor
    assert manifest["database"]["version"]
    assert manifest["haven_version"]
    assert manifest["created_at"].endswith("Z")
    assert "0001_initial" in manifest["migrations"]["chat"]
    assert len(manifest["schema_fingerprint"]) == 64
    assert manifest["media"]["files"] == 3
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        audit = tar.extractfile(AUDIT_MEMBER)
        assert audit is not None
        entries = [json.loads(line) for line in audit.read().decode().splitlines()]
    assert names[0] == MANIFEST
    assert {"media/ab/cdef0123", "media/ab/cdef4567", "media/ff/00aa"} <= set(names)
    # The instance audit log, readable without a restore (and in the dump, restored from there).
    assert manifest["instance_audit_log"]["entries"] == 1
    [entry] = entries
    assert (entry["action"], entry["target_label"], entry["via"]) == (
        "admin_grant",
        "bob",
        "command",
    )
    assert entry["reason"] == "trusted moderator"
    assert entry["actor_name"].startswith("manage.py promote_admin (")
    return manifest


def assert_same_instance(
    before: list[dict[str, Any]], after: list[dict[str, Any]], data: dict[str, Any], restored: Path
) -> None:
    assert after == before  # every row of every model, binary fields included
    users = {r["fields"]["username"] for r in after if r["model"] == "accounts.user"}
    assert users == data["users"]
    messages = [r for r in after if r["model"] == "chat.message"]
    import base64

    assert sorted(base64.b64decode(m["fields"]["encrypted_body"]) for m in messages) == sorted(
        data["bodies"]
    )
    assert [r for r in after if r["model"] == "chat.server"]
    audit = [r for r in after if r["model"] == "accounts.instanceauditentry"]
    assert [r["fields"]["action"] for r in audit] == ["admin_grant"]
    for name, content in data["files"].items():
        assert (restored / name).read_bytes() == content
    assert len([p for p in restored.rglob("*") if p.is_file()]) == len(data["files"])


@pytest.mark.postgres
def test_round_trip_on_postgresql(api: Api, media: Path, tmp_path: Path) -> None:
    import psycopg

    data = populate(api.register, media)
    before = dumpdata_here()
    archive = backup_here(tmp_path / "backups")
    check_archive(archive, "postgresql")

    source_url = urlsplit(os.environ["DATABASE_URL"])
    target_name = f"{source_url.path.lstrip('/')}_restore"
    admin_url = urlunsplit(source_url._replace(path="/postgres"))
    target_url = urlunsplit(source_url._replace(path=f"/{target_name}"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{target_name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{target_name}"')
    try:
        restored = tmp_path / "restored-media"
        env = embedded_env(
            tmp_path / "restore-var", DATABASE_URL=target_url, STORAGE_DIR=str(restored)
        )
        result = manage("restore", str(archive), "--yes", env=env, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Restored the database and 3 media file(s)" in result.stdout
        assert "Instance audit log: 1 entries restored" in result.stdout
        after = dump(manage("dumpdata", env=env).stdout)
        assert_same_instance(before, after, data, restored)

        with psycopg.connect(target_url) as restored_db:
            rows = restored_db.execute("SELECT encrypted_body FROM messages").fetchall()
        assert sorted(bytes(r[0]) for r in rows) == sorted(data["bodies"])

        again = manage("restore", str(archive), "--yes", env=env, check=False)
        assert again.returncode != 0
        assert "is not empty" in again.stderr
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{target_name}" WITH (FORCE)')


def sqlite_source(tmp_path: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """An embedded-default instance in its own process, migrated and filled: the SQLite tests
    run in subprocesses so that they run whatever database this test process uses."""
    media = tmp_path / "source-media"
    media.mkdir()
    env = embedded_env(tmp_path / "source-var", STORAGE_DIR=str(media))
    manage("migrate", "--noinput", "-v", "0", env=env)
    report = tmp_path / "populated.json"
    fill = "from tests.deploy.instance_data import populate_to_file; populate_to_file(%r, %r)"
    manage("shell", "-c", fill % (str(media), str(report)), env=env)
    return env, read_report(report)


def test_round_trip_on_sqlite(tmp_path: Path) -> None:
    source, data = sqlite_source(tmp_path)
    before = dump(manage("dumpdata", env=source).stdout)
    manage("backup", "--output", str(tmp_path / "backups"), env=source)
    (archive,) = (tmp_path / "backups").glob("haven-backup-*.tar.gz")
    check_archive(archive, "sqlite")

    restored = tmp_path / "restored-media"
    env = embedded_env(tmp_path / "restore-var", STORAGE_DIR=str(restored))
    result = manage("restore", str(archive), "--yes", env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Restored the database and 3 media file(s)" in result.stdout
    assert "Instance audit log: 1 entries restored" in result.stdout
    after = dump(manage("dumpdata", env=env).stdout)
    assert_same_instance(before, after, data, restored)


def test_backup_to_stdout_and_restore_from_stdin(tmp_path: Path) -> None:
    """The Docker cron line: exec -T haven ... backup --output - > file; restore - --yes < file."""
    source, data = sqlite_source(tmp_path)
    before = dump(manage("dumpdata", env=source).stdout)
    archive = tmp_path / "piped.tar.gz"
    with archive.open("wb") as out:
        produced = subprocess.run(
            [sys.executable, "manage.py", "backup", "--output", "-"],
            cwd=ROOT,
            env=source,
            stdout=out,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
    assert produced.returncode == 0, produced.stderr
    assert b"Backup written to standard output" in produced.stderr
    restored = tmp_path / "restored-media"
    env = embedded_env(tmp_path / "restore-var", STORAGE_DIR=str(restored))
    with archive.open("rb") as stdin:
        result = subprocess.run(
            [sys.executable, "manage.py", "restore", "-", "--yes"],
            cwd=ROOT,
            env=env,
            stdin=stdin,
            capture_output=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    after = dump(manage("dumpdata", env=env).stdout)
    assert_same_instance(before, after, data, restored)


def forge(archive: Path, target: Path, change: Any) -> Path:
    """A copy of ``archive`` whose manifest was edited by ``change``."""
    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as out:
        for member in source:
            data = source.extractfile(member)
            if member.name == MANIFEST and data is not None:
                manifest = json.load(data)
                change(manifest)
                raw = json.dumps(manifest).encode()
                member.size = len(raw)
                out.addfile(member, io.BytesIO(raw))
            else:
                out.addfile(member, data)
    return target


def test_restore_refuses_an_archive_from_a_newer_haven(
    api: Api, media: Path, tmp_path: Path
) -> None:
    populate(api.register, media)
    archive = backup_here(tmp_path / "backups")
    newer = forge(
        archive,
        tmp_path / "newer.tar.gz",
        lambda m: m["migrations"]["chat"].append("9999_from_the_future"),
    )
    with pytest.raises(CommandError, match=r"newer Haven .* chat\.9999_from_the_future"):
        call_command("restore", str(newer), "--yes")


def test_restore_refuses_a_non_empty_database(api: Api, media: Path, tmp_path: Path) -> None:
    populate(api.register, media)
    archive = backup_here(tmp_path / "backups")
    with (
        haven_settings(storage_dir=tmp_path / "empty-media"),
        pytest.raises(CommandError, match=r"is not empty .* only goes into an empty database"),
    ):
        call_command("restore", str(archive), "--yes")
    assert User.objects.count() == 2  # untouched


def test_restore_refuses_damaged_or_foreign_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    with pytest.raises(CommandError, match="not a Haven backup archive"):
        call_command("restore", str(junk), "--yes")
    with pytest.raises(CommandError, match="No such archive"):
        call_command("restore", str(tmp_path / "missing.tar.gz"), "--yes")


def test_restore_asks_before_it_writes(
    api: Api, media: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    populate(api.register, media)
    archive = backup_here(tmp_path / "backups")
    # The plan passes only on an empty database; stand in for one to reach the prompt.
    monkeypatch.setattr("ops.backup.table_names", list)
    asked: list[str] = []

    def answer(prompt: str) -> str:
        asked.append(prompt)
        return "no"

    monkeypatch.setattr("builtins.input", answer)
    with (
        haven_settings(storage_dir=tmp_path / "empty-media"),
        pytest.raises(CommandError, match="Restore cancelled; nothing was changed"),
    ):
        call_command("restore", str(archive))
    assert asked
    assert "Type 'yes' to continue" in asked[0]
    assert User.objects.count() == 2


def test_prune_deletes_only_old_haven_archives(tmp_path: Path) -> None:
    old = tmp_path / "haven-backup-20200101-000000.tar.gz"
    new = tmp_path / "haven-backup-20990101-000000.tar.gz"
    other = tmp_path / "unrelated.tar.gz"
    for path in (old, new, other):
        path.write_bytes(b"x")
    month_ago = time.time() - 30 * 86400
    os.utime(old, (month_ago, month_ago))
    os.utime(other, (month_ago, month_ago))
    assert prune_archives(tmp_path, 14) == [old]
    assert not old.exists()
    assert new.exists()
    assert other.exists()
    assert prune_archives(tmp_path, 0) == []


def test_backup_prints_progress(api: Api, media: Path, tmp_path: Path) -> None:
    populate(api.register, media)
    err = io.StringIO()
    call_command("backup", "--output", str(tmp_path / "b"), "--keep-days", "3", stderr=err)
    text = err.getvalue()
    assert "Database:" in text
    assert "Media: 3 file(s)" in text
    assert "Backup written:" in text
