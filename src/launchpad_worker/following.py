"""The poll behind following: a template that follows its repository, not checked for
``follow_poll``, has its repository's refs listed (``git ls-remote``, with the owner's
forge token when it is read through one); a newest release tag at another commit
than the template's queues an import, once per tag (the webhook's job, if it came
first, is the same job). A few templates per sweep, each claimed by a
compare-and-set of ``checked_at``, so sweeps on several machines poll each once.
A poll that cannot read the repository says why on the source (``poll_error``, shown
in the builder and by ``GET .../source``) and waits twice as long before the next
(:func:`backoff`, up to :data:`MAX_BACKOFF` polls' time); a poll that reads it
clears that.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from launchpad_core import LaunchpadError
from launchpad_web.sources.models import TemplateSource
from launchpad_web.sources.services import SourceService
from launchpad_web.templates.models import TemplateRecord

from .context import WorkerContext
from .git_fetch import Target, newest_release, remote_refs
from .git_push import GitPushError
from .importing import LIST_SECONDS, where_from

log = logging.getLogger("launchpad_worker.following")

BATCH = 10  # templates polled per sweep
MAX_BACKOFF = 64  # a failing repository is polled at least every 64 poll periods


def poll_followed(ctx: WorkerContext, enqueue: Callable[[uuid.UUID], None]) -> list[uuid.UUID]:
    """Poll the followed templates that are due; the import jobs queued."""
    now = ctx.clock()
    with ctx.session() as db:
        due = db.execute(
            sa.select(TemplateSource.template_id, TemplateSource.checked_at)
            .where(
                TemplateSource.following,
                sa.or_(
                    TemplateSource.checked_at.is_(None),
                    TemplateSource.checked_at < now - ctx.jobs.follow_poll,
                ),
                sa.or_(TemplateSource.poll_after.is_(None), TemplateSource.poll_after <= now),
            )
            .order_by(TemplateSource.checked_at.is_not(None), TemplateSource.checked_at)
            .limit(BATCH)
        ).all()
    queued = []
    for template_id, checked_at in due:
        if not _claimed(ctx, template_id, checked_at, now):
            continue
        found = _queue_if_new(ctx, template_id)
        if found is not None:
            enqueue(found)
            queued.append(found)
    return queued


def _claimed(
    ctx: WorkerContext, template_id: uuid.UUID, checked_at: datetime | None, now: datetime
) -> bool:
    same = (
        TemplateSource.checked_at.is_(None)
        if checked_at is None
        else TemplateSource.checked_at == checked_at
    )
    with ctx.session() as db:
        return (
            db.execute(
                sa.update(TemplateSource)
                .where(TemplateSource.template_id == template_id, same)
                .values(checked_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            == 1
        )


def _queue_if_new(ctx: WorkerContext, template_id: uuid.UUID) -> uuid.UUID | None:
    with ctx.session() as db:
        row = db.execute(
            sa.select(
                TemplateSource.spec,
                TemplateSource.forge,
                TemplateSource.commit,
                TemplateRecord.owner_id,
            )
            .join(TemplateRecord, TemplateRecord.id == TemplateSource.template_id)
            .where(TemplateSource.template_id == template_id)
        ).first()
    if row is None:
        return None
    newest = _newest(ctx, template_id, row.owner_id, row.spec, row.forge)
    if newest is None or newest.tag is None or newest.commit == row.commit:
        return None
    with ctx.session() as db:
        source = db.get(TemplateSource, template_id)
        if source is None or not source.following:
            return None
        sources = SourceService(forges=ctx.forges, clock=ctx.clock, public_url=ctx.public_url)
        return sources.queue_follow(db, source, tag=newest.tag, trigger="poll")


def _newest(ctx: WorkerContext, template_id: uuid.UUID, user_id: uuid.UUID, spec: str,
            forge: str | None) -> Target | None:
    """The repository's newest release, or None when it cannot be read now (logged and
    noted on the source: the next poll waits longer)."""
    try:
        fetch = where_from(ctx, user_id, spec, forge)
        with tempfile.TemporaryDirectory(prefix="launchpad-poll-") as folder:
            refs = remote_refs(Path(folder), fetch.url, fetch.credentials, seconds=LIST_SECONDS,
                               resolve=fetch.resolve)
    except (LaunchpadError, GitPushError) as exc:
        log.warning("poll failed", extra={"source": spec, "reason": exc.message})
        _note(ctx, template_id, exc.message)
        return None
    _note(ctx, template_id, None)
    return newest_release(refs)


def backoff(period: timedelta, failures: int) -> timedelta:
    """How long after its ``failures``-th failure in a row a source is polled again."""
    return period * min(2 ** max(failures - 1, 0), MAX_BACKOFF)


def _note(ctx: WorkerContext, template_id: uuid.UUID, error: str | None) -> None:
    """The poll's outcome on the source: a failure counted and put off, or all clear."""
    with ctx.session() as db:
        source = db.get(TemplateSource, template_id)
        if source is None:
            return
        if error is None:
            source.poll_failures, source.poll_error, source.poll_after = 0, None, None
            return
        source.poll_failures += 1
        source.poll_error = error[:500]
        source.poll_after = ctx.clock() + backoff(ctx.jobs.follow_poll, source.poll_failures)
