"""Account use cases on an injected session; they flush, never commit."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..clock import Clock
from ..emails import Email
from ..errors import EmailTakenError, InvalidCredentialsError
from .models import User, UserRole
from .passwords import Passwords
from .schemas import UserView


class AccountService:
    def __init__(self, *, passwords: Passwords, clock: Clock):
        self.passwords = passwords
        self.clock = clock

    def signup(self, db: Session, *, email: Email, password: str) -> UserView:
        self.passwords.check_policy(password)
        now = self.clock()
        user = User(email=email, hashed_password=self.passwords.hash(password),
                    role=UserRole.FREE, created_at=now, updated_at=now)
        try:
            with db.begin_nested():
                db.add(user)
        except IntegrityError:
            raise EmailTakenError(field="$.email") from None
        return UserView.from_row(user)

    def authenticate(self, db: Session, *, email: Email, password: str) -> UserView:
        """The user with these credentials; the same error, after the same work,
        whether the email is unknown or the password wrong."""
        self.passwords.check_length(password)
        user = db.scalar(sa.select(User).where(User.email == email))
        if user is None:
            self.passwords.verify_dummy(password)
            raise InvalidCredentialsError()
        if not self.passwords.verify(user.hashed_password, password):
            raise InvalidCredentialsError()
        if self.passwords.needs_rehash(user.hashed_password):
            user.hashed_password = self.passwords.hash(password)
        return UserView.from_row(user)

    def get(self, db: Session, user_id: uuid.UUID) -> UserView | None:
        user = db.get(User, user_id)
        return UserView.from_row(user) if user else None
