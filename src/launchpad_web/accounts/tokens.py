"""API tokens for scripts and CI: ``lp_`` + 43 random URL-safe characters, shown once.

Only the token's sha256 (hex) is stored. A token authenticates as its user
(``Authorization: Bearer lp_...``) until it expires or is deleted (revoked);
``last_used_at`` is written at most once a minute. Tokens cannot manage tokens,
change the password or delete the account: those need a signed-in session (see
:func:`~launchpad_web.accounts.auth.require_session`), so a leaked token cannot
mint longer-lived ones or take the account over.

Each process keeps what it resolved for :data:`CACHE_FOR` (5 s), so a script's
requests do not each cost a database round trip: a revocation or an account
deletion takes effect at once in the process that made it and within those
seconds in the others (so does a change of the user's role); expiry is checked on
every request.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..clock import Clock
from ..errors import NotFoundError, ValidationFailedError
from .models import ApiToken, User
from .schemas import ApiTokenView, NewApiTokenView, UserView
from .sessions import TOUCH_EVERY, hash_token

PREFIX = "lp_"
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 128
MAX_NAME_LENGTH = 100
MAX_DAYS = 366
CACHE_FOR = timedelta(seconds=5)
CACHE_SIZE = 10_000


@attrs.frozen
class TokenOwner:
    token_id: uuid.UUID
    user: UserView


@attrs.frozen
class _Resolved:
    owner: TokenOwner
    expires_at: datetime | None
    fresh_until: datetime


class TokenStore:
    """Creates, lists, revokes and resolves tokens; built once per process and shared
    by its threads (the cache is a dict: single operations on it are atomic)."""

    def __init__(self, *, clock: Clock, cache_for: timedelta = CACHE_FOR):
        self.clock = clock
        self.cache_for = cache_for
        self._cache: dict[str, _Resolved] = {}

    def create(self, db: Session, *, user_id: uuid.UUID, name: str,
               expires_in_days: int | None) -> NewApiTokenView:
        name = _checked_name(name)
        if expires_in_days is not None and not 1 <= expires_in_days <= MAX_DAYS:
            raise ValidationFailedError.one(
                "out_of_range", f"between 1 and {MAX_DAYS} days, or left out for no expiry",
                "$.expires_in_days")
        secret = PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
        now = self.clock()
        expires_at = now + timedelta(days=expires_in_days) if expires_in_days else None
        row = ApiToken(token_hash=hash_token(secret), name=name, user_id=user_id,
                       created_at=now, expires_at=expires_at)
        db.add(row)
        db.flush()
        return NewApiTokenView.from_row(row, secret)

    def list(self, db: Session, user_id: uuid.UUID) -> list[ApiTokenView]:
        rows = db.scalars(sa.select(ApiToken).where(ApiToken.user_id == user_id)
                          .order_by(ApiToken.created_at, ApiToken.id))
        return [ApiTokenView.from_row(row) for row in rows]

    def delete(self, db: Session, *, user_id: uuid.UUID, token_id: uuid.UUID) -> None:
        """Revoke one of ``user_id``'s tokens; another user's id is :class:`NotFoundError`."""
        result = db.execute(sa.delete(ApiToken).where(ApiToken.id == token_id,
                                                      ApiToken.user_id == user_id))
        if result.rowcount != 1:
            raise NotFoundError(f"no API token {token_id}")
        self._forget(lambda owner: owner.token_id == token_id)

    def forget_user(self, user_id: uuid.UUID) -> None:
        """Drop ``user_id``'s cached tokens (the account is being deleted)."""
        self._forget(lambda owner: owner.user.id == user_id)

    def resolve(self, db: Callable[[], Session], secret: str) -> TokenOwner | None:
        """The live token ``secret`` names and its user, or None (unknown, expired, revoked).

        ``db()`` gives the request's session, asked for only when the token is not cached.
        """
        if not secret.startswith(PREFIX) or len(secret) > MAX_TOKEN_LENGTH:
            return None
        key = hash_token(secret)
        now = self.clock()
        resolved = self._cache.get(key)
        if resolved is None or now >= resolved.fresh_until:
            resolved = self._load(db(), key, now)
        if resolved is None or (resolved.expires_at is not None and now >= resolved.expires_at):
            return None
        return resolved.owner

    def _load(self, db: Session, key: str, now: datetime) -> _Resolved | None:
        """Read the token (touching ``last_used_at`` when a minute old) and cache it."""
        self._cache.pop(key, None)
        found = db.execute(sa.select(ApiToken, User).join(User, ApiToken.user_id == User.id)
                           .where(ApiToken.token_hash == key)).one_or_none()
        if found is None:
            return None
        token, user = found
        live = token.expires_at is None or now < token.expires_at
        if live and (token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY):
            token.last_used_at = now
        # Fresh until the next touch is due, so last_used_at stays right to the minute.
        fresh_until = min(now + self.cache_for, (token.last_used_at or now) + TOUCH_EVERY)
        resolved = _Resolved(owner=TokenOwner(token_id=token.id, user=UserView.from_row(user)),
                             expires_at=token.expires_at, fresh_until=fresh_until)
        if self.cache_for > timedelta(0):
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = resolved
        return resolved

    def _forget(self, matches: Callable[[TokenOwner], bool]) -> None:
        for key, resolved in list(self._cache.items()):
            if matches(resolved.owner):
                self._cache.pop(key, None)


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValidationFailedError.one(
            "invalid_length", f"a name of 1 to {MAX_NAME_LENGTH} characters", "$.name")
    return name
