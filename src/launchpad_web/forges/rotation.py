"""``launchpad keys rotate``: every value stored under the encryption keys (forge
tokens, templates' webhook secrets, whatever a domain marks), re-encrypted under the
newest key.

A model marks its encrypted columns with ``__encrypted__ = ("column", ...)``; the
rotation finds them in the declarative registry, so it imports no other domain (the
caller imports :mod:`launchpad_web.models`, which loads them all). Run after putting a
new key first in ``LAUNCHPAD_ENCRYPTION_KEYS`` (older keys after it); once it has run,
the older keys can be removed. One transaction: a value that no key reads stops the
rotation and nothing is changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..db import Base
from .encryption import TokenCipher


def rotate_tokens(db: Session, keys: Sequence[str]) -> int:
    """How many rows had values re-encrypted (the caller commits)."""
    cipher = TokenCipher(keys)
    count = 0
    for mapper in sorted(Base.registry.mappers, key=lambda m: m.class_.__name__):
        model, columns = mapper.class_, getattr(mapper.class_, "__encrypted__", ())
        if not columns:
            continue
        stored = sa.or_(*(getattr(model, column).is_not(None) for column in columns))
        for row in db.scalars(sa.select(model).where(stored)):
            for column in columns:
                if (value := getattr(row, column)) is not None:
                    setattr(row, column, cipher.rotate(value))
            count += 1
    db.flush()
    return count
