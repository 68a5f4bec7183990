"""The teams schema: the owner role's migration, its CHECK constraint, and the lock that
keeps a last owner when two owners step down at the same moment."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from launchpad_web.billing.quotas import Quotas
from launchpad_web.errors import (
    AlreadyMemberError,
    InvitationExpiredError,
    InvitationNotFoundError,
    LastOwnerError,
)
from launchpad_web.migrate import alembic_config
from launchpad_web.teams.models import TeamRole
from launchpad_web.teams.services import TeamService, token_hash
from launchpad_web.usage import DomainUsage

NOW = datetime(2030, 1, 1, tzinfo=UTC)

users = sa.table("users", sa.column("id", sa.Uuid()), sa.column("email", sa.String()),
                 sa.column("hashed_password", sa.String()), sa.column("role", sa.String()),
                 sa.column("created_at", sa.DateTime(timezone=True)),
                 sa.column("updated_at", sa.DateTime(timezone=True)))
teams = sa.table("teams", sa.column("id", sa.Uuid()), sa.column("name", sa.String()),
                 sa.column("owner_id", sa.Uuid()),
                 sa.column("created_at", sa.DateTime(timezone=True)),
                 sa.column("updated_at", sa.DateTime(timezone=True)))
memberships = sa.table("team_memberships", sa.column("id", sa.Uuid()),
                       sa.column("team_id", sa.Uuid()), sa.column("user_id", sa.Uuid()),
                       sa.column("role", sa.String()),
                       sa.column("joined_at", sa.DateTime(timezone=True)))
invitations = sa.table("team_invitations", sa.column("id", sa.Uuid()),
                       sa.column("team_id", sa.Uuid()), sa.column("email", sa.String()),
                       sa.column("role", sa.String()), sa.column("token_hash", sa.String()),
                       sa.column("created_at", sa.DateTime(timezone=True)),
                       sa.column("expires_at", sa.DateTime(timezone=True)))


def add_user(connection: sa.Connection, email: str) -> uuid.UUID:
    user_id = uuid.uuid4()
    connection.execute(users.insert().values(id=user_id, email=email, hashed_password="x",
                                             role="free", created_at=NOW, updated_at=NOW))
    return user_id


def add_team(connection: sa.Connection, owner_id: uuid.UUID) -> uuid.UUID:
    team_id = uuid.uuid4()
    connection.execute(teams.insert().values(id=team_id, name="t", owner_id=owner_id,
                                             created_at=NOW, updated_at=NOW))
    return team_id


def add_membership(connection: sa.Connection, team_id: uuid.UUID, user_id: uuid.UUID,
                   role: str) -> None:
    connection.execute(memberships.insert().values(id=uuid.uuid4(), team_id=team_id,
                                                   user_id=user_id, role=role, joined_at=NOW))


def roles_of(connection: sa.Connection) -> set[tuple[uuid.UUID, uuid.UUID, str]]:
    rows = connection.execute(sa.select(memberships.c.team_id, memberships.c.user_id,
                                        memberships.c.role))
    return {tuple(row) for row in rows}


def test_upgrading_gives_each_team_owner_an_owner_membership(db):
    connection = db.connection
    with connection.begin_nested() as savepoint:
        config = alembic_config(connection)
        command.downgrade(config, "0002")
        ann, bob, cid = (add_user(connection, f"{n}@example.org") for n in ("a", "b", "c"))
        lonely = add_team(connection, ann)
        staffed = add_team(connection, bob)
        add_membership(connection, staffed, bob, "admin")
        add_membership(connection, staffed, cid, "member")

        command.upgrade(config, "head")
        assert roles_of(connection) == {(lonely, ann, "owner"), (staffed, bob, "owner"),
                                        (staffed, cid, "member")}
        command.downgrade(config, "0002")
        assert roles_of(connection) == {(lonely, ann, "admin"), (staffed, bob, "admin"),
                                        (staffed, cid, "member")}
        command.upgrade(config, "head")
        savepoint.rollback()


@pytest.mark.parametrize("table", ["team_memberships", "team_invitations"])
def test_the_role_check_accepts_owner_and_nothing_unknown(db, table):
    connection = db.connection
    with connection.begin_nested() as savepoint:
        owner = add_user(connection, "o@example.org")
        team_id = add_team(connection, owner)

        def insert(role: str) -> None:
            if table == "team_memberships":
                add_membership(connection, team_id, add_user(connection, f"{role}@x.org"), role)
            else:
                connection.execute(invitations.insert().values(
                    id=uuid.uuid4(), team_id=team_id, email="i@example.org", role=role,
                    token_hash=uuid.uuid4().hex, created_at=NOW, expires_at=NOW))

        insert("owner")
        with pytest.raises(sa.exc.IntegrityError), connection.begin_nested():
            insert("superowner")
        savepoint.rollback()


def test_two_owners_stepping_down_at_once_leave_one_owner(committing_engine):
    """The second transaction waits for the team's lock, then sees it would leave none."""
    with committing_engine.begin() as connection:
        ann, bob = add_user(connection, "ann@example.org"), add_user(connection, "bob@example.org")
        team_id = add_team(connection, ann)
        add_membership(connection, team_id, ann, "owner")
        add_membership(connection, team_id, bob, "owner")
    service = TeamService(quotas=Quotas(usage=DomainUsage()), clock=lambda: NOW)
    outcome: list[object] = []

    def bob_steps_down() -> None:
        with sa.orm.Session(committing_engine) as session:
            try:
                service.change_role(session, team_id=team_id, user_id=bob, member_id=bob,
                                    role=TeamRole.MEMBER)
                session.commit()
                outcome.append("stepped down")
            except LastOwnerError as exc:
                outcome.append(exc)

    with sa.orm.Session(committing_engine) as first:
        service.change_role(first, team_id=team_id, user_id=ann, member_id=ann,
                            role=TeamRole.MEMBER)
        thread = threading.Thread(target=bob_steps_down)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive(), "the second change should wait for the first"
        first.commit()
    thread.join(timeout=10)
    assert len(outcome) == 1 and isinstance(outcome[0], LastOwnerError)
    with committing_engine.connect() as connection:
        owners = {user for _team, user, role in roles_of(connection) if role == "owner"}
        primary = connection.scalar(sa.select(teams.c.owner_id))
    assert owners == {bob} and primary == bob


def test_an_invitation_is_accepted_once_and_never_for_a_team_already_joined(db):
    service = TeamService(quotas=Quotas(usage=DomainUsage()), clock=lambda: NOW)
    with db.session() as session:
        connection = session.connection()
        owner = add_user(connection, "owner@example.org")
        newcomer = add_user(connection, "new@example.org")
        joined, fresh, old = (add_team(connection, owner) for _ in range(3))
        add_membership(connection, joined, newcomer, "member")
        for team_id, expires in ((joined, 8), (fresh, 8), (old, 1)):
            connection.execute(invitations.insert().values(
                id=uuid.uuid4(), team_id=team_id, email="new@example.org", role="admin",
                token_hash=token_hash(f"token-{team_id}"), created_at=NOW,
                expires_at=NOW.replace(day=expires)))
        view = service.accept(session, token=f"token-{fresh}", user_id=newcomer)
        assert (view.id, view.role) == (fresh, TeamRole.ADMIN)
        with pytest.raises(InvitationNotFoundError):
            service.accept(session, token=f"token-{fresh}", user_id=newcomer)
        with pytest.raises(AlreadyMemberError):
            service.accept(session, token=f"token-{joined}", user_id=newcomer)
        with pytest.raises(InvitationExpiredError):
            service.accept(session, token=f"token-{old}", user_id=newcomer)
        assert {(t, r) for t, u, r in roles_of(connection) if u == newcomer} == {
            (joined, "member"), (fresh, "admin")}
