"""Backups and restores of a whole Haven instance, as one ``.tar.gz`` archive.

An archive holds, in this order:

* ``manifest.json``: format version, Haven version, creation time, database vendor and version,
  the applied migrations per app, a fingerprint of the schema, and checksums/counts;
* ``database/haven.pgdump`` (``pg_dump -Fc`` of PostgreSQL) or ``database/haven.sqlite3`` (SQLite's
  online backup API, consistent while the server runs);
* ``audit/instance-audit-log.jsonl``: the instance audit log (what instance admins did, docs/
  moderation.md), one JSON object per line, oldest first: a copy readable without restoring
  anything (the database dump holds the same rows, and the restore brings them back from there);
* ``media/...``: every file under ``STORAGE_DIR`` (attachments, avatars, icons, emojis), as stored
  (still encrypted with ``STORAGE_ENCRYPTION_KEY``, which is *not* in the archive).

A restore goes into an empty database only (it never merges), refuses an archive made by a newer
Haven (a migration this code does not have) or a damaged one (the whole archive is read through
gzip's CRC-32 first, which covers the media; a truncated archive fails there too), and checks the
dump's checksum and, after the restore, the schema fingerprint.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from accounts.models import InstanceAuditEntry
from haven_site.version import haven_version

FORMAT_VERSION = 1
ARCHIVE_PREFIX = "haven-backup-"
ARCHIVE_SUFFIX = ".tar.gz"
MANIFEST = "manifest.json"
PG_MEMBER = "database/haven.pgdump"
SQLITE_MEMBER = "database/haven.sqlite3"
MEDIA_PREFIX = "media/"
AUDIT_MEMBER = "audit/instance-audit-log.jsonl"
CHUNK = 1024 * 1024

Progress = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot go on; the message tells the operator what to do."""


def _quiet(_message: str) -> None:
    return None


# --- the database ---------------------------------------------------------------------------


def vendor() -> str:
    return connection.vendor  # "postgresql" or "sqlite"


def database_version() -> str:
    if vendor() == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return str(cursor.fetchone()[0])
    return sqlite3.sqlite_version


def describe_database() -> str:
    db = connection.settings_dict
    if vendor() == "postgresql":
        host = db.get("HOST") or "localhost"
        port = db.get("PORT") or 5432
        return f"PostgreSQL database {db['NAME']!r} on {host}:{port}"
    return f"SQLite database {db['NAME']}"


def applied_migrations() -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in sorted(MigrationRecorder(connection).applied_migrations()):
        applied.setdefault(app, []).append(name)
    return applied


def table_names() -> list[str]:
    with connection.cursor() as cursor:
        return sorted(connection.introspection.table_names(cursor))


def schema_fingerprint() -> str:
    """SHA-256 over every table's columns (name, type, nullability), in a stable order."""
    digest = hashlib.sha256()
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            columns = connection.introspection.get_table_description(cursor, table)
            for column in sorted(columns, key=lambda c: c.name):
                digest.update(
                    f"{table}.{column.name}:{column.type_code}:{column.null_ok}\n".encode()
                )
    return digest.hexdigest()


def _pg_env() -> dict[str, str]:
    """libpq's environment for the configured database: no password on a command line."""
    db = connection.settings_dict
    env = dict(os.environ)
    pairs = {
        "PGHOST": db.get("HOST"),
        "PGPORT": db.get("PORT"),
        "PGUSER": db.get("USER"),
        "PGPASSWORD": db.get("PASSWORD"),
        "PGDATABASE": db.get("NAME"),
        "PGSSLMODE": (db.get("OPTIONS") or {}).get("sslmode"),
    }
    for name, value in pairs.items():
        if value not in (None, ""):
            env[name] = str(value)
    return env


def _run_pg_tool(args: list[str], what: str) -> None:
    if shutil.which(args[0]) is None:
        raise BackupError(
            f"{args[0]} was not found on PATH. Install the PostgreSQL client tools of the server's "
            "major version (Debian: apt install postgresql-client), or run this command in the "
            "Haven container, which has them."
        )
    result = subprocess.run(  # noqa: S603 - fixed tool name, arguments built here
        args, env=_pg_env(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        detail = result.stderr.strip() or f"exit status {result.returncode}"
        raise BackupError(f"{what} failed: {detail}")


def _dump_database(target: Path) -> str:
    """Writes the database to ``target`` and returns the archive member name."""
    if vendor() == "postgresql":
        _run_pg_tool(["pg_dump", "-Fc", "--no-owner", "--no-acl", "-f", str(target)], "pg_dump")
        return PG_MEMBER
    if vendor() == "sqlite":
        connection.ensure_connection()
        source = connection.connection
        destination = sqlite3.connect(target)
        try:
            with destination:
                source.backup(destination)
        finally:
            destination.close()
        return SQLITE_MEMBER
    raise BackupError(f"Backups support PostgreSQL and SQLite, not {vendor()}")


def _restore_database(dump: Path) -> None:
    if vendor() == "postgresql":
        _run_pg_tool(
            [
                "pg_restore",
                "--no-owner",
                "--no-acl",
                "--exit-on-error",
                "--single-transaction",
                "-d",
                str(connection.settings_dict["NAME"]),
                str(dump),
            ],
            "pg_restore",
        )
        connection.close()  # the schema changed under Django's connection
        return
    connection.ensure_connection()
    source = sqlite3.connect(dump)
    try:
        source.backup(connection.connection)
    finally:
        source.close()


def instance_audit_log() -> bytes:
    """The instance audit log as JSON lines, oldest first."""
    lines = []
    for entry in InstanceAuditEntry.objects.order_by("created_at", "id").iterator():
        record = {
            "id": str(entry.id),
            "created_at": entry.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "actor_id": str(entry.actor_id) if entry.actor_id else None,
            "actor_name": entry.actor_name,
            "via": entry.via,
            "action": entry.action,
            "target_type": entry.target_type,
            "target_id": str(entry.target_id) if entry.target_id else None,
            "target_label": entry.target_label,
            "reason": entry.reason,
            "details": entry.details,
        }
        lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True))
    return "".join(f"{line}\n" for line in lines).encode()


def instance_audit_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM instance_audit_log")
        return int(cursor.fetchone()[0])


# --- media ----------------------------------------------------------------------------------


def _media_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _size(num: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if num < 1024 or unit == "GiB":
            return f"{num:.0f} {unit}" if unit == "B" else f"{num:.1f} {unit}"
        num /= 1024
    return f"{num:.1f} GiB"


# --- backup ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupResult:
    path: Path | None  # None when written to a stream
    manifest: dict[str, Any]
    pruned: list[Path]


def archive_name(moment: datetime) -> str:
    return f"{ARCHIVE_PREFIX}{moment:%Y%m%d-%H%M%S}{ARCHIVE_SUFFIX}"


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def create_backup(
    *,
    output_dir: Path | None = None,
    stream: IO[bytes] | None = None,
    keep_days: int = 14,
    progress: Progress = _quiet,
) -> BackupResult:
    """Writes one archive into ``output_dir`` (or to ``stream``) and prunes old archives."""
    if (output_dir is None) == (stream is None):
        raise ValueError("give exactly one of output_dir and stream")
    media_root = Path(settings.HAVEN.storage_dir)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="haven-backup-") as scratch:
        dump = Path(scratch) / "database"
        progress(f"Database: {describe_database()} ({vendor()} {database_version()})")
        member = _dump_database(dump)
        progress(f"  dumped {_size(dump.stat().st_size)}")
        audit = instance_audit_log()
        audit_entries = audit.count(b"\n")
        progress(f"Instance audit log: {audit_entries} entries")
        files = _media_files(media_root)
        media_bytes = sum(f.stat().st_size for f in files)
        progress(f"Media: {len(files)} file(s), {_size(media_bytes)} from {media_root}")
        manifest: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "haven_version": haven_version(),
            "created_at": now.isoformat().replace("+00:00", "Z"),
            "database": {
                "vendor": vendor(),
                "version": database_version(),
                "member": member,
                "sha256": _sha256(dump),
                "size": dump.stat().st_size,
            },
            "migrations": applied_migrations(),
            "schema_fingerprint": schema_fingerprint(),
            "media": {"files": len(files), "bytes": media_bytes},
            "instance_audit_log": {
                "member": AUDIT_MEMBER,
                "entries": audit_entries,
                "sha256": hashlib.sha256(audit).hexdigest(),
            },
        }
        manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode()

        if stream is not None:
            with tarfile.open(fileobj=stream, mode="w|gz") as tar:
                _write_members(
                    tar, manifest_bytes, dump, member, audit, media_root, files, progress
                )
            progress("Backup written to standard output")
            return BackupResult(path=None, manifest=manifest, pruned=[])

        assert output_dir is not None
        output_dir.mkdir(parents=True, exist_ok=True)
        final = output_dir / archive_name(now)
        partial = output_dir / f".{final.name}.partial"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle, tarfile.open(fileobj=handle, mode="w:gz") as tar:
                _write_members(
                    tar, manifest_bytes, dump, member, audit, media_root, files, progress
                )
            partial.replace(final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    progress(f"Backup written: {final} ({_size(final.stat().st_size)})")
    pruned = prune_archives(output_dir, keep_days, keep=final)
    for path in pruned:
        progress(f"Pruned {path.name} (older than {keep_days} days)")
    return BackupResult(path=final, manifest=manifest, pruned=pruned)


def _write_members(
    tar: tarfile.TarFile,
    manifest: bytes,
    dump: Path,
    member: str,
    audit: bytes,
    media_root: Path,
    files: list[Path],
    progress: Progress,
) -> None:
    _add_bytes(tar, MANIFEST, manifest)
    tar.add(dump, arcname=member, recursive=False)
    _add_bytes(tar, AUDIT_MEMBER, audit)
    step = max(1, len(files) // 10)
    for index, path in enumerate(files, 1):
        relative = path.relative_to(media_root).as_posix()
        try:
            tar.add(path, arcname=MEDIA_PREFIX + relative, recursive=False)
        except FileNotFoundError:
            progress(f"  skipped {relative}: deleted during the backup")
        if index % step == 0 or index == len(files):
            progress(f"  media {index}/{len(files)}")


def prune_archives(directory: Path, keep_days: int, *, keep: Path | None = None) -> list[Path]:
    """Deletes Haven archives in ``directory`` older than ``keep_days`` (0 keeps everything)."""
    if keep_days <= 0:
        return []
    cutoff = time.time() - keep_days * 86400
    pruned = []
    for path in sorted(directory.glob(f"{ARCHIVE_PREFIX}*{ARCHIVE_SUFFIX}")):
        if path != keep and path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink()
            pruned.append(path)
    return pruned


# --- restore --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestorePlan:
    archive: Path
    manifest: dict[str, Any]
    pending_migrations: list[str]  # migrations this code has that the archive lacks

    def summary(self) -> str:
        m = self.manifest
        return (
            f"Archive {self.archive.name}: made {m['created_at']} by Haven {m['haven_version']} "
            f"({m['database']['vendor']} {m['database']['version']}, "
            f"{m['media']['files']} media file(s))"
        )


def read_manifest(archive: Path) -> dict[str, Any]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest: dict[str, Any] = json.load(member)
    except (OSError, EOFError, zlib.error, tarfile.TarError, KeyError, ValueError) as error:
        raise BackupError(f"{archive} is not a Haven backup archive ({error})") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(
            f"{archive} has backup format {manifest.get('format')!r}; this Haven reads format "
            f"{FORMAT_VERSION}. Restore it with the Haven version that made it "
            f"({manifest.get('haven_version', 'unknown')})."
        )
    return manifest


def verify_archive(archive: Path) -> None:
    """Read the whole archive through gzip, whose trailer holds the CRC-32 and length of
    everything in it: a truncated archive (a full disk during the backup, a copy cut short) or
    a flipped bit anywhere (encrypted media is stored, not compressed, so deflate would not
    notice) is refused here, before anything is written. The tar reader alone stops at the
    archive's end marker and never checks the trailer."""
    try:
        with gzip.open(archive, "rb") as stream:
            while stream.read(CHUNK):
                pass
    except (OSError, EOFError, zlib.error) as error:
        raise BackupError(
            f"{archive} is damaged ({error}): it is cut short or was altered. Nothing was "
            "restored; use another archive."
        ) from None


def plan_restore(archive: Path) -> RestorePlan:
    """Every check that can refuse the restore, before anything is written."""
    manifest = read_manifest(archive)
    verify_archive(archive)

    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    archived = {(app, name) for app, names in manifest["migrations"].items() for name in names}
    unknown = sorted(f"{app}.{name}" for app, name in archived - known)
    if unknown:
        raise BackupError(
            f"This archive was made by a newer Haven ({manifest['haven_version']}) than this one "
            f"({haven_version()}): its database has migrations this code does not have: "
            f"{', '.join(unknown)}. Install Haven {manifest['haven_version']} or newer, then "
            "restore again."
        )
    pending = sorted(f"{app}.{name}" for app, name in known - archived)

    archived_vendor = manifest["database"]["vendor"]
    if archived_vendor != vendor():
        raise BackupError(
            f"This archive holds a {archived_vendor} database but this Haven is configured for "
            f"{vendor()} ({describe_database()}). Point DATABASE_URL at an empty {archived_vendor} "
            "database and restore again."
        )

    tables = table_names()
    if tables:
        raise BackupError(
            f"The {describe_database()} is not empty ({len(tables)} tables, e.g. "
            f"{', '.join(tables[:3])}). A restore only goes into an empty database: create a new "
            "one (or drop and re-create this one), do not run migrate on it, and restore again."
        )

    media_root = Path(settings.HAVEN.storage_dir)
    if _media_files(media_root):
        raise BackupError(
            f"The media directory {media_root} (STORAGE_DIR) already holds files. A restore "
            "only goes into an empty media directory: move those files away and restore again."
        )
    return RestorePlan(archive=archive, manifest=manifest, pending_migrations=pending)


def _safe_member_path(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupError(f"The archive holds an unsafe path {name!r}; refusing to restore it")
    return path


def restore_backup(plan: RestorePlan, *, progress: Progress = _quiet) -> dict[str, int]:
    """Restores the database and the media of a checked plan. Returns counts for the report."""
    try:
        return _restore_checked(plan, progress)
    except (EOFError, zlib.error, tarfile.TarError) as error:  # changed since it was verified
        raise BackupError(f"{plan.archive} could not be read to its end ({error})") from None


def _restore_checked(plan: RestorePlan, progress: Progress) -> dict[str, int]:
    manifest = plan.manifest
    media_root = Path(settings.HAVEN.storage_dir)
    restored_files = 0
    with tempfile.TemporaryDirectory(prefix="haven-restore-") as scratch:
        dump = Path(scratch) / "database"
        with tarfile.open(plan.archive, "r:gz") as tar:
            progress(f"Database: restoring into {describe_database()}")
            _extract_to(tar, manifest["database"]["member"], dump)
            if _sha256(dump) != manifest["database"]["sha256"]:
                raise BackupError(
                    "The database dump in the archive does not match its checksum: the archive "
                    "is damaged. Nothing was restored."
                )
            _restore_database(dump)
            audit = manifest.get("instance_audit_log")  # absent in archives made before it
            if audit is not None:
                restored = instance_audit_rows()
                progress(f"Instance audit log: {restored} entries restored")
                if restored != audit["entries"]:
                    progress(
                        f"WARNING: the archive lists {audit['entries']} instance audit entries "
                        f"but the restored database holds {restored}."
                    )
            if schema_fingerprint() != manifest["schema_fingerprint"]:
                progress(
                    "WARNING: the restored schema differs from the one recorded in the archive; "
                    "check the database before you start Haven."
                )
            progress(f"Media: restoring into {media_root}")
            for member in tar:
                if not member.name.startswith(MEDIA_PREFIX):
                    continue
                relative = _safe_member_path(member.name[len(MEDIA_PREFIX) :])
                if not member.isfile():
                    continue  # directories are created as needed; links are never restored
                _extract_to(tar, member, media_root.joinpath(*relative.parts))
                restored_files += 1
    return {"media_files": restored_files}


def _extract_to(tar: tarfile.TarFile, member: str | tarfile.TarInfo, target: Path) -> None:
    source = tar.extractfile(member)
    if source is None:
        name = member if isinstance(member, str) else member.name
        raise BackupError(f"The archive lacks {name}; it is damaged")
    target.parent.mkdir(parents=True, exist_ok=True)
    with source, target.open("wb") as handle:
        shutil.copyfileobj(source, handle, CHUNK)


@contextlib.contextmanager
def spooled_stdin(stdin: IO[bytes]) -> Iterator[Path]:
    """An archive read from standard input, kept in a temporary file for the restore."""
    with tempfile.TemporaryDirectory(prefix="haven-restore-input-") as scratch:
        path = Path(scratch) / "archive.tar.gz"
        with path.open("wb") as handle:
            shutil.copyfileobj(stdin, handle, CHUNK)
        yield path
