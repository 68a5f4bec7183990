"""Backups of the embedded configuration: the SQLite database and the artifacts, one file.

``launchpad db backup FILE`` copies the database with SQLite's online backup API
(a consistent snapshot, taken while the service runs and writes), then the
artifact files, into one uncompressed tar (archives are compressed already):

* ``manifest.json``: format, schema revision, LaunchPad version, time;
* ``launchpad.sqlite3``: the snapshot;
* ``artifacts/...``: every stored archive.

Artifacts are copied after the snapshot: one stored meanwhile is an extra file
(the sweeper removes orphans), one deleted meanwhile by retention is missing and
its job answers as an expired one. ``launchpad db restore FILE`` puts both back
into an empty data directory (or over an existing one with ``--force``), each
through a temporary name and a rename, so an interrupted restore leaves no
half-written database. PostgreSQL is backed up with its own tools (README).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import sqlalchemy as sa

import launchpad_core

from .errors import WebError

FORMAT = "launchpad-backup/1"
DATABASE_MEMBER = "launchpad.sqlite3"
MANIFEST_MEMBER = "manifest.json"
ARTIFACTS_MEMBER = "artifacts"


class BackupError(WebError):
    code = "backup_failed"


def sqlite_path(database_url: str) -> Path:
    """The database file of a SQLite URL; a BackupError for any other database."""
    url = sa.make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError(
            "launchpad db backup|restore handle the embedded SQLite database; back up "
            "PostgreSQL with pg_dump (see the README's Operations section)")
    return Path(url.database)


def backup(database_url: str, artifact_dir: Path, destination: Path) -> dict:
    """Write a backup file to ``destination`` (through a temporary name); its manifest."""
    database = sqlite_path(database_url)
    if not database.is_file():
        raise BackupError(f"no database at {database}: nothing to back up")
    destination = destination.resolve()
    if destination.is_dir():
        raise BackupError(f"{destination} is a directory; name the backup file")
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination.parent) as scratch:
        snapshot = Path(scratch) / DATABASE_MEMBER
        _snapshot(database, snapshot)
        manifest = {
            "format": FORMAT,
            "revision": _revision(snapshot),
            "launchpad": launchpad_core.__version__,
            "created_at": datetime.now(UTC).isoformat(),
        }
        partial = Path(scratch) / "backup.tar"
        with tarfile.open(partial, "w") as archive:
            manifest_file = Path(scratch) / MANIFEST_MEMBER
            manifest_file.write_text(json.dumps(manifest, indent=2))
            archive.add(manifest_file, MANIFEST_MEMBER)
            archive.add(snapshot, DATABASE_MEMBER)
            for path in sorted(_files(artifact_dir)):
                archive.add(path, f"{ARTIFACTS_MEMBER}/{path.relative_to(artifact_dir).as_posix()}")
        os.replace(partial, destination)
    return manifest


def restore(source: Path, database_url: str, artifact_dir: Path, *, force: bool = False) -> dict:
    """Put a backup's database and artifacts in place; its manifest."""
    database = sqlite_path(database_url)
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    if not force and (database.exists() or any(_files(artifact_dir))):
        raise BackupError(f"{database.parent} already holds a database or artifacts; "
                          "restore into an empty data directory, or pass --force to replace them")
    with _opened(source) as archive:
        manifest = _manifest(archive, source)
        members = _checked_members(archive, source)
        database.parent.mkdir(parents=True, exist_ok=True)
        artifact_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=database.parent) as scratch:
            archive.extractall(scratch, members=members, filter="data")
            restored = Path(scratch) / DATABASE_MEMBER
            if not restored.is_file():
                raise BackupError(f"{source} holds no database")
            _check_database(restored, source)
            for suffix in ("-wal", "-shm"):  # a replaced database's journal must go too
                Path(f"{database}{suffix}").unlink(missing_ok=True)
            os.replace(restored, database)
            extracted = Path(scratch) / ARTIFACTS_MEMBER
            for path in sorted(_files(extracted)):
                target = artifact_dir / path.relative_to(extracted)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
    return manifest


@contextlib.contextmanager
def _opened(source: Path) -> Iterator[tarfile.TarFile]:
    try:
        archive = tarfile.open(source, "r:")  # noqa: SIM115 - closed below
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{source} is not a LaunchPad backup: {exc}") from None
    with archive:
        yield archive


def _snapshot(database: Path, target: Path) -> None:
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        with copy:
            source.backup(copy, pages=1024)
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
    finally:
        copy.close()
        source.close()


def _revision(database: Path) -> str | None:
    connection = sqlite3.connect(database)
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    finally:
        connection.close()
    return row[0] if row else None


def _check_database(database: Path, source: Path) -> None:
    connection = sqlite3.connect(database)
    try:
        result = connection.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"the database in {source} is damaged: {exc}") from None
    finally:
        connection.close()
    if result != ("ok",):
        raise BackupError(f"the database in {source} is damaged: {result[0]}")


def _manifest(archive: tarfile.TarFile, source: Path) -> dict:
    try:
        member = archive.extractfile(MANIFEST_MEMBER)
        manifest = json.loads(member.read()) if member else None
    except (KeyError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{source} is not a LaunchPad backup (no {FORMAT} manifest)")
    return manifest


def _checked_members(archive: tarfile.TarFile, source: Path) -> list[tarfile.TarInfo]:
    """The members to extract: the database and regular files under artifacts/ only."""
    members = []
    for member in archive.getmembers():
        path = PurePosixPath(member.name)
        if member.name == MANIFEST_MEMBER:
            continue
        inside = path.parts[:1] == (ARTIFACTS_MEMBER,) and ".." not in path.parts
        if not (member.isfile() and (member.name == DATABASE_MEMBER or inside)):
            raise BackupError(f"{source} holds an unexpected entry: {member.name!r}")
        members.append(member)
    return members


def _files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return [Path(folder) / name for folder, _dirs, names in os.walk(root) for name in names]
