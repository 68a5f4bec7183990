"""Request bodies and value objects of the accounts domain (what the API reads and answers)."""

from __future__ import annotations

import uuid
from datetime import datetime

import attrs

from ..emails import Email
from .models import User, UserRole


@attrs.frozen
class SignupRequest:
    email: Email
    password: str


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
