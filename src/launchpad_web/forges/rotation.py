"""``launchpad keys rotate``: every stored forge token, and every template's webhook
secret (``template_sources``), re-encrypted under the newest key.

Run after putting a new key first in ``LAUNCHPAD_ENCRYPTION_KEYS`` (older keys
after it); once it has run, the older keys can be removed. One transaction: a
token that no key reads stops the rotation and nothing is changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..sources.models import TemplateSource
from .encryption import TokenCipher
from .models import ForgeAccount


def rotate_tokens(db: Session, keys: Sequence[str]) -> int:
    """How many forge accounts had tokens re-encrypted (the caller commits)."""
    cipher = TokenCipher(keys)
    rows = db.scalars(sa.select(ForgeAccount).where(sa.or_(
        ForgeAccount.access_token.is_not(None), ForgeAccount.refresh_token.is_not(None))))
    count = 0
    for row in rows:
        if row.access_token is not None:
            row.access_token = cipher.rotate(row.access_token)
        if row.refresh_token is not None:
            row.refresh_token = cipher.rotate(row.refresh_token)
        count += 1
    for source in db.scalars(sa.select(TemplateSource).where(
            TemplateSource.webhook_secret.is_not(None))):
        source.webhook_secret = cipher.rotate(source.webhook_secret)
    db.flush()
    return count
