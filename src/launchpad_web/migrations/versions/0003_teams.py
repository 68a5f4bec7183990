"""Schema changes of the teams domain: teams, memberships, invitations and roles.

Adds the ``owner`` team role: the CHECK constraints of ``team_memberships.role``
and ``team_invitations.role`` accept it, and each team's ``owner_id`` gets an
``owner`` membership. Downgrading turns owners into admins.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE_TABLES = ("team_memberships", "team_invitations")

teams = sa.table(
    "teams",
    sa.column("id", sa.Uuid()),
    sa.column("owner_id", sa.Uuid()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
memberships = sa.table(
    "team_memberships",
    sa.column("id", sa.Uuid()),
    sa.column("team_id", sa.Uuid()),
    sa.column("user_id", sa.Uuid()),
    sa.column("role", sa.String(32)),
    sa.column("joined_at", sa.DateTime(timezone=True)),
)


def role_type(*values: str) -> sa.Enum:
    return sa.Enum(*values, name="teamrole", native_enum=False, create_constraint=True, length=32)


def retype_roles(old: sa.Enum, new: sa.Enum) -> None:
    for table in ROLE_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("role", existing_type=old, type_=new, existing_nullable=False)


def upgrade() -> None:
    retype_roles(role_type("member", "admin"), role_type("member", "admin", "owner"))
    is_owner = sa.and_(
        teams.c.id == memberships.c.team_id, teams.c.owner_id == memberships.c.user_id
    )
    op.execute(memberships.update().where(sa.exists().where(is_owner)).values(role="owner"))
    without_membership = sa.select(teams.c.id, teams.c.owner_id, teams.c.created_at).where(
        ~sa.exists().where(is_owner)
    )
    rows = op.get_bind().execute(without_membership).all()
    if rows:
        op.bulk_insert(
            memberships,
            [
                {
                    "id": uuid.uuid4(),
                    "team_id": team_id,
                    "user_id": owner_id,
                    "role": "owner",
                    "joined_at": created_at,
                }
                for team_id, owner_id, created_at in rows
            ],
        )


def downgrade() -> None:
    for table in ROLE_TABLES:
        op.execute(sa.text(f"UPDATE {table} SET role = 'admin' WHERE role = 'owner'"))
    retype_roles(role_type("member", "admin", "owner"), role_type("member", "admin"))
