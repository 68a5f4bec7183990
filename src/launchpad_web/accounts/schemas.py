"""Request bodies and value objects of the accounts domain (what the API reads and answers)."""

from __future__ import annotations

import uuid
from datetime import datetime

import attrs

from ..emails import Email
from .models import ApiToken, User, UserRole


@attrs.frozen
class SignupRequest:
    email: Email
    password: str


@attrs.frozen
class PasswordResetRequest:
    """Ask for a password-reset link by email."""

    email: Email


@attrs.frozen
class PasswordResetConfirmRequest:
    """The token of a mailed password-reset link and the new password."""

    token: str
    new_password: str


@attrs.frozen
class LoginRequest:
    email: Email
    password: str


@attrs.frozen
class UserView:
    """A user as services return it and the API shows it (never the password hash)."""

    id: uuid.UUID
    email: str
    role: UserRole
    created_at: datetime

    @classmethod
    def from_row(cls, row: User) -> UserView:
        return cls(id=row.id, email=row.email, role=row.role, created_at=row.created_at)


@attrs.frozen
class PasswordChangeRequest:
    current_password: str
    new_password: str


@attrs.frozen
class AccountDeletionRequest:
    password: str


@attrs.frozen
class CsrfTokenView:
    """The token a same-origin page sends back in ``X-CSRF-Token`` (bound to its session)."""

    csrf_token: str
    header: str = "X-CSRF-Token"


@attrs.frozen
class ApiTokenRequest:
    name: str
    expires_in_days: int | None = None


@attrs.frozen
class ApiTokenView:
    """A token's metadata; the secret is never shown again."""

    id: uuid.UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None

    @classmethod
    def from_row(cls, row: ApiToken) -> ApiTokenView:
        return cls(id=row.id, name=row.name, created_at=row.created_at,
                   last_used_at=row.last_used_at, expires_at=row.expires_at)


@attrs.frozen
class NewApiTokenView:
    """A token just created: the only answer that carries its ``token``."""

    id: uuid.UUID
    name: str
    token: str
    created_at: datetime
    expires_at: datetime | None

    @classmethod
    def from_row(cls, row: ApiToken, secret: str) -> NewApiTokenView:
        return cls(id=row.id, name=row.name, token=secret, created_at=row.created_at,
                   expires_at=row.expires_at)
