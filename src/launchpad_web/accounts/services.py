"""Account use cases on an injected session; they flush, never commit.

Every password check (sign-in, password change, account deletion) goes through the
:class:`~launchpad_web.accounts.throttling.LoginThrottle`: refused at the limit,
and a failure recorded. The caller must keep those records although it answers an
error: the resources set ``req.context.commit_on_error``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..clock import Clock
from ..db import end_transaction
from ..emails import Email
from ..errors import (
    EmailTakenError,
    InvalidCredentialsError,
    WrongPasswordError,
)
from .auth import CHALLENGE
from .models import NO_PASSWORD, LoginFailure, ThrottleScope, User, UserRole
from .passwords import Passwords
from .schemas import UserView
from .throttling import LoginThrottle, SignupThrottle


class AccountDeletion(Protocol):
    """What another domain does when an account goes (teams, billing), given at
    composition (:func:`launchpad_web.app.create_app`) so accounts imports neither.

    Called before the user's row is deleted, in the same transaction; raising stops the
    deletion with nothing changed. It may return what to do once the row is gone."""

    def __call__(self, db: Session, user_id: uuid.UUID) -> Callable[[], None] | None: ...


class AccountService:
    def __init__(self, *, passwords: Passwords, clock: Clock, throttle: LoginThrottle,
                 signups: SignupThrottle | None = None,
                 on_delete: Sequence[AccountDeletion] = ()):
        self.passwords = passwords
        self.clock = clock
        self.throttle = throttle
        self.signups = signups or SignupThrottle(clock=clock)
        self.on_delete = tuple(on_delete)

    def signup(self, db: Session, *, email: Email, password: str,
               address: str | None) -> UserView:
        """A new account; refused (429) when ``address`` (the client's: required, so no
        way in forgets it) created too many lately."""
        self.passwords.check_policy(password)
        end_transaction(db)  # hashing takes ~0.2 s: no lock (SQLite's, everyone's) across it
        return self._create(db, email, self.passwords.hash(password), address)

    def signup_without_password(self, db: Session, *, email: Email,
                                address: str | None) -> UserView:
        """A new account that signs in with a forge (the caller links it); throttled by
        ``address`` like :meth:`signup`."""
        return self._create(db, email, NO_PASSWORD, address)

    def has_password(self, db: Session, user_id: uuid.UUID) -> bool:
        return db.get_one(User, user_id).hashed_password != NO_PASSWORD

    def _create(self, db: Session, email: Email, hashed_password: str,
                address: str | None) -> UserView:
        self.signups.check(db, address=address)
        now = self.clock()
        user = User(email=email, hashed_password=hashed_password,
                    role=UserRole.FREE, created_at=now, updated_at=now)
        try:
            with db.begin_nested():
                db.add(user)
        except IntegrityError:
            raise EmailTakenError(field="$.email") from None
        self.signups.record(db, address=address)
        return UserView.from_row(user)

    def authenticate(self, db: Session, *, email: Email, password: str,
                     address: str | None) -> UserView:
        """The user with these credentials; the same error, after the same work
        (a hash verified, a failure recorded), whether the email is unknown or the
        password wrong. ``address`` is the client's, for throttling."""
        self.passwords.check_length(password)
        self.throttle.check(db, email=email, address=address)
        user = db.scalar(sa.select(User).where(User.email == email))
        hashed = user.hashed_password if user is not None else NO_PASSWORD
        end_transaction(db)  # verifying takes ~0.2 s: no lock is held across it
        if hashed == NO_PASSWORD:
            self.passwords.verify_dummy(password)
        if hashed == NO_PASSWORD or not self.passwords.verify(hashed, password):
            self.throttle.record_failure(db, email=email, address=address)
            raise InvalidCredentialsError(headers=CHALLENGE)
        self.throttle.forget_account(db, email=email)
        self._rehash_if_needed(user, password)
        return UserView.from_row(user)

    def change_password(self, db: Session, *, user_id: uuid.UUID, current: str, new: str,
                        address: str | None) -> UserView:
        """Replace the password after checking the current one (throttled like sign-in);
        an account without one (made by signing in with a forge) sets its first.
        The caller ends the user's other sessions."""
        self.passwords.check_policy(new, field="$.new_password")
        user = db.get_one(User, user_id)
        if user.hashed_password != NO_PASSWORD:
            user = self._verified(db, user_id, current, address, field="$.current_password")
        end_transaction(db)
        hashed = self.passwords.hash(new)
        user.hashed_password = hashed
        user.updated_at = self.clock()
        return UserView.from_row(user)

    def delete_account(self, db: Session, *, user_id: uuid.UUID, password: str,
                       address: str | None) -> None:
        """Delete the user and, through ON DELETE CASCADE, what only it owns: sessions,
        tokens, memberships, its templates and their versions, jobs, subscriptions and
        the teams it is the sole owner of, with their templates. A team with another
        owner passes to its longest-standing one. Other users' rows stay, with
        ``created_by``/``invited_by`` set to NULL."""
        user = self._verified(db, user_id, password, address, field="$.password")
        email = user.email
        once_deleted = [then for deletion in self.on_delete
                        if (then := deletion(db, user_id)) is not None]
        db.execute(sa.delete(User).where(User.id == user_id))
        db.expire_all()
        for then in once_deleted:
            then()
        db.execute(sa.delete(LoginFailure).where(LoginFailure.scope == ThrottleScope.ACCOUNT,
                                                 LoginFailure.key == email))

    def get(self, db: Session, user_id: uuid.UUID) -> UserView | None:
        user = db.get(User, user_id)
        return UserView.from_row(user) if user else None

    def _verified(self, db: Session, user_id: uuid.UUID, password: str, address: str | None,
                  *, field: str) -> User:
        """The signed-in user's row once ``password`` proved to be theirs."""
        self.passwords.check_length(password, field)
        user = db.get_one(User, user_id)
        self.throttle.check(db, email=user.email, address=address)
        hashed = user.hashed_password
        end_transaction(db)  # verifying takes ~0.2 s: no lock is held across it
        if not self.passwords.verify(hashed, password):
            self.throttle.record_failure(db, email=user.email, address=address)
            raise WrongPasswordError(field=field)
        self.throttle.forget_account(db, email=user.email)
        return user

    def _rehash_if_needed(self, user: User, password: str) -> None:
        if self.passwords.needs_rehash(user.hashed_password):
            user.hashed_password = self.passwords.hash(password)
