"""GDPR export: everything stored about one user, as one JSON document.

The rows of the other domains (teams, templates, jobs, billing) are read here and
never written. Each row is dumped column by column, so a column another domain
adds appears without a change here; only secrets (password and token hashes,
session ids, which are hashes of the cookie tokens, forge access and refresh tokens:
a linked forge shows as its login, never its token) are left out. A table not
named below whose ``user_id`` or ``owner_id`` refers to the user (a domain's new
table) is exported under its table name, in ``other``.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import models as all_models
from .accounts.models import ApiToken, AuthSession, User
from .billing.models import Subscription
from .clock import Clock
from .db import Base
from .forges.models import TOKEN_COLUMNS, ForgeAccount
from .jobs.models import GenerationJob
from .teams.models import Team, TeamInvitation, TeamMembership
from .templates.models import TemplateRecord, TemplateVersion

FORMAT = "launchpad-export/1"
SECRET_COLUMNS = frozenset({"hashed_password", "token_hash", *TOKEN_COLUMNS})
OWNER_COLUMNS = ("user_id", "owner_id")
EXPORTED = (User, AuthSession, ApiToken, Team, TeamMembership, TeamInvitation, TemplateRecord,
            TemplateVersion, GenerationJob, Subscription, ForgeAccount)


def row_data(row: Base, *, leave_out: Iterable[str] = ()) -> dict[str, Any]:
    """A row's columns as JSON values, secrets and ``leave_out`` excluded."""
    skip = SECRET_COLUMNS | set(leave_out)
    return {attr.key: _json_value(getattr(row, attr.key))
            for attr in sa.inspect(type(row)).column_attrs if attr.key not in skip}


def _json_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


class AccountExport:
    def __init__(self, *, clock: Clock):
        self.clock = clock

    def export(self, db: Session, user_id: uuid.UUID) -> dict[str, Any]:
        user = db.get_one(User, user_id)
        return {
            "format": FORMAT,
            "exported_at": self.clock().isoformat(),
            "user": row_data(user),
            "sessions": self._rows(db, AuthSession, AuthSession.user_id == user_id,
                                   leave_out=("id",), order=AuthSession.created_at),
            "api_tokens": self._rows(db, ApiToken, ApiToken.user_id == user_id,
                                     order=ApiToken.created_at),
            "teams_owned": self._rows(db, Team, Team.owner_id == user_id, order=Team.created_at),
            "team_memberships": self._memberships(db, user_id),
            "team_invitations_received": self._rows(
                db, TeamInvitation, TeamInvitation.email == user.email,
                order=TeamInvitation.created_at),
            "templates": self._templates(db, user_id),
            "generation_jobs": self._rows(db, GenerationJob, GenerationJob.user_id == user_id,
                                          order=GenerationJob.created_at),
            "subscriptions": self._rows(db, Subscription, Subscription.user_id == user_id,
                                        order=Subscription.created_at),
            "forge_accounts": self._rows(db, ForgeAccount, ForgeAccount.user_id == user_id,
                                         order=ForgeAccount.forge),
            "other": self._other_tables(db, user_id),
        }

    def _other_tables(self, db: Session, user_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
        found = {}
        for mapper in sorted(all_models.Base.registry.mappers, key=lambda m: m.class_.__name__):
            model = mapper.class_
            columns = [c for name, c in mapper.columns.items() if name in OWNER_COLUMNS
                       and any(fk.column.table.name == "users" for fk in c.foreign_keys)]
            if model in EXPORTED or not columns:
                continue
            rows = db.scalars(sa.select(model).where(sa.or_(*(c == user_id for c in columns)))
                              .order_by(*mapper.primary_key))
            found[mapper.local_table.name] = [row_data(row) for row in rows]
        return found

    def _rows(self, db: Session, model: type[Base], where: Any, *, order: Any,
              leave_out: Iterable[str] = ()) -> list[dict[str, Any]]:
        rows = db.scalars(sa.select(model).where(where).order_by(order, model.id))
        return [row_data(row, leave_out=leave_out) for row in rows]

    def _memberships(self, db: Session, user_id: uuid.UUID) -> list[dict[str, Any]]:
        found = db.execute(sa.select(TeamMembership, Team.name)
                           .join(Team, TeamMembership.team_id == Team.id)
                           .where(TeamMembership.user_id == user_id)
                           .order_by(TeamMembership.joined_at, TeamMembership.id))
        return [{**row_data(membership), "team_name": name} for membership, name in found]

    def _templates(self, db: Session, user_id: uuid.UUID) -> list[dict[str, Any]]:
        templates = db.scalars(sa.select(TemplateRecord).where(TemplateRecord.owner_id == user_id)
                               .order_by(TemplateRecord.created_at, TemplateRecord.id)).all()
        versions: dict[uuid.UUID, list[dict[str, Any]]] = {t.id: [] for t in templates}
        if templates:
            rows = db.scalars(sa.select(TemplateVersion)
                              .where(TemplateVersion.template_id.in_(list(versions)))
                              .order_by(TemplateVersion.template_id, TemplateVersion.number))
            for row in rows:
                versions[row.template_id].append(row_data(row))
        return [{**row_data(t), "versions": versions[t.id]} for t in templates]
