"""The models and the migrations agree, on both databases; the schema behaves."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from launchpad_web.accounts.models import AuthSession, User, UserRole
from launchpad_web.db import make_engine
from launchpad_web.migrate import alembic_config, current_revision, head_revision
from launchpad_web.models import metadata
from launchpad_web.teams.models import Team, TeamMembership
from launchpad_web.templates.models import TemplateRecord, TemplateVersion

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def diff(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, metadata)


def test_models_and_migrations_agree(db):
    assert current_revision(db.connection) == head_revision()
    assert diff(db.connection) == []


def test_the_comparison_would_see_a_difference(db):
    with db.connection.begin_nested() as savepoint:
        db.connection.exec_driver_sql("DROP INDEX ix_sessions_user_id")
        assert [d[0] for d in diff(db.connection)] == ["add_index"]
        savepoint.rollback()


def test_downgrade_to_empty_and_upgrade_again(db):
    with db.connection.begin_nested() as savepoint:
        config = alembic_config(db.connection)
        command.downgrade(config, "base")
        assert set(sa.inspect(db.connection).get_table_names()) <= {"alembic_version"}
        command.upgrade(config, "head")
        assert diff(db.connection) == []
        savepoint.rollback()


def test_json_columns_are_jsonb_on_postgresql(db):
    columns = {c["name"]: c["type"] for c in sa.inspect(db.connection).get_columns("templates")}
    expected = "JSONB" if db.backend == "postgresql" else "JSON"
    assert type(columns["definition"]).__name__ == expected


def add_user(session, email="owner@example.org"):
    user = User(email=email, hashed_password="x", created_at=NOW, updated_at=NOW)
    session.add(user)
    session.flush()
    return user


def test_timestamps_come_back_timezone_aware_utc(db):
    with db.session() as session:
        user = add_user(session)
        session.commit()
        session.expire_all()
        loaded = session.get(User, user.id)
        assert loaded.created_at == NOW and loaded.created_at.tzinfo is not None
        assert loaded.role is UserRole.FREE


def test_enum_like_columns_are_checked(db):
    with pytest.raises(sa.exc.IntegrityError), db.connection.begin_nested():
        db.connection.execute(sa.insert(User.__table__).values(
            id=uuid.uuid4(), email="e@example.org", hashed_password="x", role="emperor",
            created_at=NOW, updated_at=NOW))


def test_deleting_a_user_cascades_to_what_they_own(db):
    with db.session() as session:
        owner = add_user(session)
        member = add_user(session, "member@example.org")
        team = Team(name="t", owner_id=owner.id)
        session.add(team)
        session.flush()
        template = TemplateRecord(name="t", definition={"name": "t"}, owner_id=owner.id,
                                  team_id=team.id)
        session.add_all([
            TeamMembership(team_id=team.id, user_id=member.id),
            AuthSession(id="a" * 64, user_id=owner.id, created_at=NOW, last_seen_at=NOW,
                        expires_at=NOW + timedelta(days=1)),
            template,
        ])
        session.flush()
        session.add(TemplateVersion(template_id=template.id, number=1,
                                    definition={"name": "t"}, created_by=member.id))
        session.commit()
        session.delete(owner)
        session.commit()
        session.expunge_all()
        counts = {model.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(model))
                  for model in (Team, TeamMembership, AuthSession, TemplateRecord, TemplateVersion)}
        assert counts == dict.fromkeys(counts, 0)
        assert session.get(User, member.id) is not None


def test_template_version_numbers_are_unique_per_template(db):
    with db.session() as session:
        owner = add_user(session)
        template = TemplateRecord(name="t", definition={}, owner_id=owner.id)
        session.add(template)
        session.flush()
        session.add(TemplateVersion(template_id=template.id, number=1, definition={}))
        session.flush()
        with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
            session.add(TemplateVersion(template_id=template.id, number=1, definition={}))


def test_the_embedded_sqlite_waits_for_a_writer_instead_of_failing(tmp_path):
    """WAL and a busy timeout: a transaction started while another holds the write lock
    waits for it to end (``database is locked`` only after 5 s), never fails at once."""
    engine = make_engine(f"sqlite:///{tmp_path / 'launchpad.sqlite3'}")
    with engine.connect() as connection:
        pragmas = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "busy_timeout", "foreign_keys")}
    assert pragmas == {"journal_mode": "wal", "busy_timeout": 5000, "foreign_keys": 1}
    holding = threading.Event()

    def hold_the_lock() -> None:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            holding.set()
            time.sleep(0.5)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    holding.wait(timeout=10)
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
    waited = time.perf_counter() - started
    holder.join()
    assert 0.2 < waited < 5
    engine.dispose()
