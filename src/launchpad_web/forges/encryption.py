"""``TokenCipher``: forge tokens (and the OAuth flow's cookie) encrypted at rest.

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) under a MultiFernet of
``LAUNCHPAD_ENCRYPTION_KEYS``: encrypted under the first key, read under any, and
:meth:`TokenCipher.rotate` re-encrypts under the first. A text that does not
decrypt (tampered with, under a key no longer configured, too old for ``ttl``)
is :class:`UnreadableSecretError`; its content never appears in a message.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ..errors import WebError


class UnreadableSecretError(WebError):
    code = "unreadable_secret"


class TokenCipher:
    def __init__(self, keys: Sequence[str]):
        if not keys:
            raise ValueError("a TokenCipher needs at least one key")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def __repr__(self) -> str:
        return "TokenCipher(...)"

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def decrypt(self, stored: str, *, ttl: int | None = None) -> str:
        try:
            return self._fernet.decrypt(stored.encode("ascii"), ttl=ttl).decode()
        except (InvalidToken, UnicodeError):
            raise UnreadableSecretError("a stored secret does not decrypt under the "
                                        "configured keys") from None

    def rotate(self, stored: str) -> str:
        try:
            return self._fernet.rotate(stored.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise UnreadableSecretError("a stored secret does not decrypt under any of "
                                        "LAUNCHPAD_ENCRYPTION_KEYS: was a key removed too "
                                        "early?") from None
