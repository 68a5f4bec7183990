"""Table of the forges domain: forge_accounts, a forge account linked to a user."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, HasId, HasTimestamps

#: Columns holding secrets (Fernet ciphertext): never exported, never logged.
TOKEN_COLUMNS = ("access_token", "refresh_token")


class ForgeAccount(HasId, HasTimestamps, Base):
    """A user's account on a forge (``forge`` is the plugin's name, ``forge_user_id``
    the forge's stable id). The tokens are Fernet ciphertext; both are NULL once the
    forge said they were revoked (the link stays: signing in again gets new ones)."""

    __encrypted__ = TOKEN_COLUMNS  # launchpad keys rotate

    __tablename__ = "forge_accounts"
    __table_args__ = (
        sa.UniqueConstraint("forge", "forge_user_id"),
        sa.UniqueConstraint("user_id", "forge"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    forge: Mapped[str] = mapped_column(sa.String(40))
    forge_user_id: Mapped[str] = mapped_column(sa.String(100))
    login: Mapped[str] = mapped_column(sa.String(255))
    access_token: Mapped[str | None] = mapped_column(sa.Text)
    refresh_token: Mapped[str | None] = mapped_column(sa.Text)
    token_expires_at: Mapped[datetime | None]
    #: The token's scopes as the forge granted them, space-separated; NULL: not known (a
    #: link made when every scope was asked for at sign-in).
    scopes: Mapped[str | None] = mapped_column(sa.Text)
