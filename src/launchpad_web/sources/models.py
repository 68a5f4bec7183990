"""Tables of the sources domain: template_sources (where a template was imported from)
and import_jobs (an import from a repository, run by a worker with the lease lifecycle
of generation jobs)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, HasId, HasTimestamps
from ..jobs.models import Leased


class TemplateSource(HasTimestamps, Base):
    """The repository a template was imported from: ``spec`` as the person gave it,
    ``url`` the address fetched (never with credentials), ``forge`` and ``repository``
    (``owner/name``) when it is read through a linked forge account, ``ref`` the ref
    asked for (None: the newest release tag), and the ``commit`` (and ``tag``) of the
    template's latest imported version.

    ``following``: a new release tag becomes a new version, by the forge's webhook
    (verified with ``webhook_secret``, encrypted like forge tokens) or by the sweeper's
    poll (``checked_at``: the last one). A poll that fails (the repository gone, the
    token revoked, the forge down) counts in ``poll_failures``, says why in
    ``poll_error`` and puts the next one off (``poll_after``: twice as long each time);
    one that succeeds clears them."""

    __encrypted__ = ("webhook_secret",)  # launchpad keys rotate

    __tablename__ = "template_sources"

    template_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("templates.id", ondelete="CASCADE"), primary_key=True
    )
    spec: Mapped[str] = mapped_column(sa.String(1024))
    url: Mapped[str] = mapped_column(sa.String(1024))
    forge: Mapped[str | None] = mapped_column(sa.String(40))
    repository: Mapped[str | None] = mapped_column(sa.String(255))
    ref: Mapped[str | None] = mapped_column(sa.String(255))
    format: Mapped[str | None] = mapped_column(sa.String(40))
    commit: Mapped[str] = mapped_column(sa.String(64))
    tag: Mapped[str | None] = mapped_column(sa.String(255))
    following: Mapped[bool] = mapped_column(default=False, index=True)
    webhook_secret: Mapped[str | None] = mapped_column(sa.Text)
    checked_at: Mapped[datetime | None]
    poll_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    poll_error: Mapped[str | None] = mapped_column(sa.String(500))
    poll_after: Mapped[datetime | None]


class ImportJob(Leased, HasId, HasTimestamps, Base):
    """Import the repository ``spec`` at ``ref`` (format ``format`` or detected) as a new
    template (``template_id`` None: ``name``, ``team_id``) or as a new version of
    ``template_id``. ``trigger`` says who asked: ``create``, ``reimport``, ``webhook``,
    ``poll``. ``dedupe`` (unique per template) makes a tag that two deliveries, or a
    delivery and a poll, announce one job. Once done: ``result_template_id``, the
    ``commit`` read, the ``version`` made (None with ``unchanged``: the commit was the
    template's already)."""

    __tablename__ = "import_jobs"
    __table_args__ = (
        sa.Index("ix_import_jobs_status_lease_expires_at", "status", "lease_expires_at"),
        sa.UniqueConstraint("template_id", "dedupe"),
    )
    EVENT_JOB = None
    FAILED = "Your template could not be imported"

    template_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("templates.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("teams.id", ondelete="CASCADE"), index=True
    )
    spec: Mapped[str] = mapped_column(sa.String(1024))
    ref: Mapped[str | None] = mapped_column(sa.String(255))
    format: Mapped[str | None] = mapped_column(sa.String(40))
    forge: Mapped[str | None] = mapped_column(sa.String(40))
    name: Mapped[str | None] = mapped_column(sa.String(200))
    trigger: Mapped[str] = mapped_column(sa.String(20))
    dedupe: Mapped[str | None] = mapped_column(sa.String(300))
    result_template_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("templates.id", ondelete="SET NULL")
    )
    commit: Mapped[str | None] = mapped_column(sa.String(64))
    tag: Mapped[str | None] = mapped_column(sa.String(255))
    version: Mapped[int | None]
    unchanged: Mapped[bool] = mapped_column(default=False)
