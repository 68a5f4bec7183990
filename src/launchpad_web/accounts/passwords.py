"""Password rules and hashing (argon2id via argon2-cffi).

Rules: 8 to 1024 characters (longer is refused before any hashing, so a huge
password costs nothing), and not one of :data:`COMMON_PASSWORDS`. The cost
parameters come from :class:`~launchpad_web.settings.PasswordHashing`.
"""

from __future__ import annotations

import secrets

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from ..errors import ValidationFailedError
from ..settings import PasswordHashing
from .common_passwords import COMMON_PASSWORDS

MIN_LENGTH = 8
MAX_LENGTH = 1024
FIELD = "$.password"


class Passwords:
    """Checks, hashes and verifies passwords; built once, shared by every thread."""

    def __init__(self, params: PasswordHashing):
        self._hasher = argon2.PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            type=argon2.Type.ID,
        )
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def check_length(self, password: str, field: str = FIELD) -> None:
        if len(password) > MAX_LENGTH:
            raise ValidationFailedError.one(
                "password_too_long", f"a password has at most {MAX_LENGTH} characters", field)

    def check_policy(self, password: str, field: str = FIELD) -> None:
        """Everything a new password must satisfy (sign-up, change); ``field`` names it."""
        self.check_length(password, field)
        if len(password) < MIN_LENGTH:
            raise ValidationFailedError.one(
                "password_too_short", f"a password has at least {MIN_LENGTH} characters", field)
        if password.casefold() in COMMON_PASSWORDS:
            raise ValidationFailedError.one(
                "password_too_common", "this password is too common; choose another", field)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, hashed: str, password: str) -> bool:
        try:
            return self._hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False

    def verify_dummy(self, password: str) -> None:
        """Spend the time a real verification takes (for unknown emails)."""
        self.verify(self._dummy_hash, password)

    def needs_rehash(self, hashed: str) -> bool:
        return self._hasher.check_needs_rehash(hashed)
