"""Operations: backup and restore of the embedded configuration (the restore drill),
and every migration going down and up again on both databases with the data kept."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from launchpad_web.accounts.models import User
from launchpad_web.backup import BackupError, backup, restore
from launchpad_web.db import make_engine, make_session_factory
from launchpad_web.jobs.models import GenerationJob, JobStatus
from launchpad_web.migrate import current_revision, downgrade, revisions, upgrade
from launchpad_web.models import metadata
from launchpad_web.teams.models import Team, TeamMembership, TeamRole
from launchpad_web.templates.models import TemplateRecord, TemplateVersion
from launchpad_web.testing import insert_template

NOW = datetime(2030, 1, 1, tzinfo=UTC)
DEFINITION = {"name": "t", "files": [{"path": "a.txt", "content": "x"}]}


def add_account(session: sa.orm.Session, index: int) -> None:
    """One user with a template, its version and a completed job: one transaction."""
    user = User(email=f"u{index}-{uuid.uuid4().hex[:6]}@example.org", hashed_password="x",
                created_at=NOW, updated_at=NOW)
    session.add(user)
    session.flush()
    template = insert_template(session, owner_id=user.id, definition=DEFINITION,
                               name=f"t{index}", created_by=user.id, at=NOW)
    session.add(GenerationJob(user_id=user.id, template_id=template.id, template_version=1,
                              status=JobStatus.COMPLETED, attempts=1, created_at=NOW,
                              updated_at=NOW, answers={}, log=[]))


def counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            model.__tablename__: connection.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (User, TemplateRecord, TemplateVersion, GenerationJob)
        }


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    engine = make_engine(f"sqlite:///{path / 'launchpad.sqlite3'}")
    upgrade(engine)
    engine.dispose()
    return path


def url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'launchpad.sqlite3'}"


def test_a_backup_under_writes_restores_whole_accounts(data_dir: Path, tmp_path: Path):
    """The restore drill: back up while accounts are being written, restore into a fresh
    data directory: every account committed before the backup began is there, each whole
    (user, template, version and job together), and the artifacts are back."""
    engine = make_engine(url(data_dir))
    factory = make_session_factory(engine)
    for index in range(50):
        with factory.begin() as session:
            add_account(session, index)
    artifacts = data_dir / "artifacts"
    (artifacts / "ab").mkdir(parents=True)
    (artifacts / "ab" / "job.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    stop, written = threading.Event(), [0]

    def write() -> None:
        while not stop.is_set():
            with factory.begin() as session:
                add_account(session, 1000 + written[0])
            written[0] += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while written[0] < 5:
            threading.Event().wait(0.01)
        before = counts(engine)["users"]
        manifest = backup(url(data_dir), artifacts, tmp_path / "backup.tar")
    finally:
        stop.set()
        writer.join()
    assert written[0] > 5, "no write happened during the backup"

    fresh = tmp_path / "fresh"
    assert restore(tmp_path / "backup.tar", url(fresh), fresh / "artifacts") == manifest
    restored = make_engine(url(fresh))
    with restored.connect() as connection:
        assert current_revision(connection) == manifest["revision"] == revisions()[-1]
    got = counts(restored)
    assert got["users"] >= before
    assert got["users"] == got["templates"] == got["template_versions"] == got["generation_jobs"]
    assert (fresh / "artifacts" / "ab" / "job.zip").read_bytes().startswith(b"PK")
    restored.dispose()
    engine.dispose()


def test_restore_refuses_to_overwrite_unless_forced(data_dir: Path, tmp_path: Path):
    backup(url(data_dir), data_dir / "artifacts", tmp_path / "b.tar")
    with pytest.raises(BackupError, match="--force"):
        restore(tmp_path / "b.tar", url(data_dir), data_dir / "artifacts")
    restore(tmp_path / "b.tar", url(data_dir), data_dir / "artifacts", force=True)


@pytest.mark.parametrize("entry", ["../escape.txt", "/etc/evil", "artifacts/../../x",
                                   "other.txt"])
def test_restore_refuses_a_backup_with_entries_outside_its_layout(data_dir: Path,
                                                                   tmp_path: Path, entry: str):
    backup(url(data_dir), data_dir / "artifacts", tmp_path / "b.tar")
    with tarfile.open(tmp_path / "b.tar", "a") as archive:
        info = tarfile.TarInfo(entry)
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    fresh = tmp_path / "fresh"
    with pytest.raises(BackupError, match="unexpected entry"):
        restore(tmp_path / "b.tar", url(fresh), fresh / "artifacts")
    assert not (fresh / "launchpad.sqlite3").exists()
    assert not (tmp_path / "escape.txt").exists()


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path):
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all")
    with pytest.raises(BackupError, match="not a LaunchPad backup"):
        restore(tmp_path / "junk.tar", url(tmp_path / "d"), tmp_path / "d" / "artifacts")


def launchpad(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("launchpad")
    return subprocess.run([str(script), *args], check=False, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


def test_the_commands_round_trip_and_fail_in_one_line(data_dir: Path, tmp_path: Path):
    env = {"LAUNCHPAD_DATA_DIR": str(data_dir)}
    done = launchpad("db", "backup", str(tmp_path / "b.tar"), env=env)
    assert done.returncode == 0, done.stderr
    assert "bucket" not in done.stdout
    in_a_bucket = launchpad("db", "backup", str(tmp_path / "s.tar"),
                            env={**env, "LAUNCHPAD_ARTIFACT_BUCKET": "lp-archives"})
    assert in_a_bucket.returncode == 0, in_a_bucket.stderr
    assert "the archives are in the bucket 'lp-archives', not in this file" in in_a_bucket.stdout
    fresh = {"LAUNCHPAD_DATA_DIR": str(tmp_path / "fresh")}
    done = launchpad("db", "restore", str(tmp_path / "b.tar"), env=fresh)
    assert (done.returncode, done.stdout.startswith("restored revision")) == (0, True)
    for args, env_used in ((("db", "restore", str(tmp_path / "b.tar")), fresh),
                           (("db", "backup", str(tmp_path / "c.tar")),
                            {"LAUNCHPAD_DATABASE_URL": "postgresql+psycopg://x@127.0.0.1/x"}),
                           (("db", "downgrade", "9999"), env)):
        failed = launchpad(*args, env=env_used)
        assert failed.returncode != 0
        assert len(failed.stderr.strip().splitlines()) == 1, failed.stderr


def test_every_migration_goes_down_and_up_and_keeps_the_data(committing_engine):
    """From the head, each revision is undone and redone in turn; rows of the tables that
    exist below it survive, and the schema ends equal to the models."""
    factory = make_session_factory(committing_engine)
    with factory.begin() as session:
        add_account(session, 1)
        owner = session.scalar(sa.select(User))
        team = Team(name="team", owner_id=owner.id, created_at=NOW, updated_at=NOW)
        session.add(team)
        session.flush()
        session.add(TeamMembership(team_id=team.id, user_id=owner.id, role=TeamRole.OWNER))
    names = revisions()
    for below, revision in reversed(list(zip(["base", *names], names, strict=False))):
        downgrade(committing_engine, below)
        kept = _row_counts(committing_engine)
        upgrade(committing_engine)
        after = _row_counts(committing_engine)
        assert {t: after[t] for t in kept} == kept, f"down and up through {revision}"
    with committing_engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []


def _row_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        tables = sa.inspect(connection).get_table_names()
        return {table: connection.scalar(sa.text(f'SELECT count(*) FROM "{table}"'))
                for table in tables if table != "alembic_version"}
