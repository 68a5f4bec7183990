"""One import job, start to end: lease, repository, commit, import, new template or version.

The lifecycle is the publish job's (:mod:`launchpad_web.jobs.leases` on the
``import_jobs`` table). An attempt:

1. finds where to fetch: through the person's linked forge (``forge.repository``
   gives the clone address; git gets the token in its environment only), or the
   public address;
2. lists the remote's refs (``git ls-remote``) and picks the commit: the ref asked
   for, else the newest release tag, else ``HEAD``; a template already at that
   commit gets no new version, and the job says so (``unchanged``);
3. fetches that one commit within size and time limits (:mod:`.git_fetch`) and hands
   its zip to the isolation boundary (``Evaluator.imported``: Copier, Cookiecutter or
   LaunchPad, hooks and tasks left out and stated) - no template code runs here;
4. saves it as a new template (with its source) or a new version, moving the
   source's commit with a compare-and-set, so two imports of one commit make one
   version.

A forge or git server that is down is retried (as publishing does); a refused
token is dropped (the link shows as revoked) and fails the job at once, saying to
link the forge again.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from launchpad_core import LaunchpadError
from launchpad_core.plugins.forges import (
    ForgeRepositoryNotFoundError,
    ForgeTokenRevokedError,
    ForgeUnavailableError,
)
from launchpad_web.errors import ApiError
from launchpad_web.jobs import leases
from launchpad_web.jobs.models import EventKind, JobStatus, log_entry
from launchpad_web.sources.addresses import same_host
from launchpad_web.sources.models import ImportJob, TemplateSource
from launchpad_web.templates.models import TemplateRecord
from launchpad_web.templates.schemas import TemplateRequest, TemplateUpdateRequest

from .context import WorkerContext
from .git_fetch import FetchLimits, Target, check_host, fetch_zip, remote_refs, target
from .git_push import (
    Credentials,
    GitPushError,
    RemoteNotFoundError,
    RemoteRefusedError,
    RemoteUnavailableError,
)
from .runner import LeasedRunner, Requeue, TransientError

log = logging.getLogger("launchpad_worker.importing")

T = TypeVar("T")
LIST_SECONDS = 30


class ImportFailedError(LaunchpadError):
    """The import cannot succeed by trying again; the message says why, in plain words."""

    code = "import_failed"


@attrs.frozen
class Fetch:
    """Where an attempt fetches from, and with what."""

    url: str
    credentials: Credentials | None
    forge: str | None
    repository: str | None
    resolve: str | None = None  # the addresses checked, pinned for git (HostCheck)


@attrs.frozen
class Saved:
    template_id: uuid.UUID
    version: int | None  # None: unchanged
    commit: str
    tag: str | None


class ImportRunner(LeasedRunner["_Plan", Saved]):
    """Import jobs (:class:`LeasedRunner`); an attempt answers what it saved."""

    table = ImportJob
    failure = ImportFailedError
    again = "import again later"

    def __init__(self, context: WorkerContext, requeue: Requeue,
                 limits: FetchLimits | None = None):
        super().__init__(context, requeue)
        self.limits = limits or FetchLimits(
            max_bytes=context.jobs.import_max_bytes,
            seconds=context.jobs.import_time.total_seconds())

    def plan(self, db: Session, row: ImportJob) -> _Plan:
        return _Plan.from_row(row)

    def attempt(self, plan: _Plan, owner: str, secret_answers: Mapping[str, Any]) -> Saved:
        return Attempt(self.context, plan, owner, self.limits).run()

    def finish(self, plan: _Plan, owner: str, saved: Saved) -> None:
        ctx, job = self.context, plan.id
        now = ctx.clock()
        at = f"{saved.commit[:12]}" + (f" ({saved.tag})" if saved.tag else "")
        message = (
            f"the template is at commit {at} already: no new version"
            if saved.version is None
            else f"version {saved.version} from commit {at}"
        )
        with ctx.session() as db:
            leases.finish(
                db,
                job,
                owner=owner,
                now=now,
                table=ImportJob,
                step=log_entry(now, "completed", message),
                status=JobStatus.COMPLETED,
                event=(EventKind.JOB_COMPLETED, f"Your template is imported: {message}"),
                result_template_id=saved.template_id,
                version=saved.version,
                commit=saved.commit,
                tag=saved.tag,
                unchanged=saved.version is None,
            )


@attrs.frozen
class _Plan:
    id: uuid.UUID
    user_id: uuid.UUID
    attempt: int
    template_id: uuid.UUID | None
    team_id: uuid.UUID | None
    spec: str
    ref: str | None
    format: str | None
    forge: str | None
    name: str | None
    #: what an earlier attempt of this job saved (committed with the template or version)
    made_template_id: uuid.UUID | None = None
    made_version: int | None = None

    @classmethod
    def from_row(cls, row: ImportJob) -> _Plan:
        return cls(
            id=row.id,
            user_id=row.user_id,
            attempt=row.attempts,
            template_id=row.template_id,
            team_id=row.team_id,
            spec=row.spec,
            ref=row.ref,
            format=row.format,
            forge=row.forge,
            name=row.name,
            made_template_id=row.result_template_id,
            made_version=row.version,
        )

    @property
    def target_template(self) -> uuid.UUID | None:
        """The template to make a version of: the job's, or the one an earlier attempt of
        this job created (a worker that died after committing it)."""
        return self.template_id or self.made_template_id


class Attempt:
    """The steps of one attempt (see the module); :meth:`run` answers what was saved, or
    raises ``ImportFailedError`` / ``TransientError``."""

    def __init__(self, ctx: WorkerContext, plan: _Plan, owner: str, limits: FetchLimits):
        self.ctx = ctx
        self.plan = plan
        self.owner = owner
        self.limits = limits

    def run(self) -> Saved:
        fetch = where_from(self.ctx, self.plan.user_id, self.plan.spec, self.plan.forge)
        with tempfile.TemporaryDirectory(prefix="launchpad-import-") as folder:
            work = Path(folder)
            found = self._git(
                fetch,
                lambda: target(
                    remote_refs(work, fetch.url, fetch.credentials, seconds=LIST_SECONDS,
                                resolve=fetch.resolve),
                    self.plan.ref,
                ),
            )
            template_id = self.plan.target_template
            if template_id is not None and self._current_commit() == found.commit:
                return Saved(template_id, self.plan.made_version, found.commit, found.tag)
            self._note(
                "fetching",
                f"fetching commit {found.commit[:12]}" + (f" ({found.tag})" if found.tag else ""),
            )
            (work / "repo").mkdir()
            archive = self._git(
                fetch,
                lambda: fetch_zip(
                    work / "repo", fetch.url, found, fetch.credentials, limits=self.limits,
                    resolve=fetch.resolve,
                ),
            )
        return self._save(archive, fetch, found)

    def _revoked(self, forge_name: str, label: str) -> ImportFailedError:
        return revoked(self.ctx, self.plan.user_id, forge_name, label)

    def _git(self, fetch: Fetch, step: Callable[[], T]) -> T:
        """``step`` with git's failures as the job's: a refused token revoked, a server
        that is down retried, anything else final."""
        try:
            return step()
        except RemoteRefusedError as exc:
            if exc.status == 401 and fetch.forge is not None:
                assert self.ctx.forges is not None
                raise self._revoked(fetch.forge, self.ctx.forges.forge(fetch.forge).label) from None
            raise ImportFailedError(
                f"the repository refused to be read ({exc.message}): "
                "a private one is read through your linked forge "
                "account"
            ) from None
        except RemoteNotFoundError:
            raise ImportFailedError("no repository at that address") from None
        except RemoteUnavailableError as exc:
            raise TransientError(f"the git server failed: {exc.message}") from None
        except GitPushError as exc:
            raise ImportFailedError(exc.message) from None

    # -- saving ----------------------------------------------------------------------------
    def _current_commit(self) -> str | None:
        with self.ctx.session() as db:
            return db.scalar(
                sa.select(TemplateSource.commit).where(
                    TemplateSource.template_id == self.plan.target_template
                )
            )

    def _save(self, archive: bytes, fetch: Fetch, found: Target) -> Saved:
        ctx, plan = self.ctx, self.plan
        assert ctx.templates is not None
        self._note("importing", "importing the template (its code runs isolated)")
        try:
            definition = ctx.templates.evaluator.imported(
                archive, plan.format, user_id=plan.user_id
            )
        except ApiError as exc:
            raise ImportFailedError(
                f"the repository is not a template LaunchPad can import: {_problem(exc)}"
            ) from None
        except LaunchpadError as exc:
            raise ImportFailedError(exc.message) from None
        format = definition.get("settings", {}).get("origin", {}).get("format")
        try:
            with ctx.session() as db:
                if plan.target_template is None:
                    return self._create(db, definition, fetch, found, format)
                return self._version(db, definition, found)
        except ApiError as exc:
            raise ImportFailedError(_problem(exc)) from None

    def _create(
        self,
        db: sa.orm.Session,
        definition: dict[str, Any],
        fetch: Fetch,
        found: Target,
        format: str | None,
    ) -> Saved:
        ctx, plan = self.ctx, self.plan
        assert ctx.templates is not None
        name = plan.name or _repository_name(plan.spec)
        view = ctx.templates.create(
            db,
            user_id=plan.user_id,
            request=TemplateRequest(name=name, definition=definition, team_id=plan.team_id),
        )
        now = ctx.clock()
        db.add(
            TemplateSource(
                template_id=view.id,
                spec=plan.spec,
                url=fetch.url,
                forge=fetch.forge,
                repository=fetch.repository,
                ref=plan.ref,
                format=plan.format or format,
                commit=found.commit,
                tag=found.tag,
                created_at=now,
                updated_at=now,
            )
        )
        db.flush()
        self._note(
            "saved",
            f"template {view.id} created",
            db=db,
            result_template_id=view.id,
            version=view.version,
        )
        return Saved(view.id, view.version, found.commit, found.tag)

    def _version(self, db: sa.orm.Session, definition: dict[str, Any], found: Target) -> Saved:
        ctx, plan = self.ctx, self.plan
        assert ctx.templates is not None and plan.target_template is not None
        row = db.get(TemplateRecord, plan.target_template)
        source = db.get(TemplateSource, plan.target_template)
        if row is None or source is None:
            raise ImportFailedError("the template was deleted meanwhile")
        before = source.commit
        view = ctx.templates.update(
            db,
            user_id=plan.user_id,
            template_id=row.id,
            request=TemplateUpdateRequest(
                name=row.name, definition=definition, version=row.version
            ),
            if_match=None,
        )
        moved = db.execute(
            sa.update(TemplateSource)
            .where(TemplateSource.template_id == row.id, TemplateSource.commit == before)
            .values(commit=found.commit, tag=found.tag, ref=plan.ref, updated_at=ctx.clock())
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved != 1:  # another import moved it meanwhile: this version is undone
            raise TransientError("another import of this template ran meanwhile")
        self._note("saved", f"version {view.version} saved", db=db, version=view.version)
        return Saved(row.id, view.version, found.commit, found.tag)

    def _note(
        self, step: str, message: str, *, db: sa.orm.Session | None = None, **values: Any
    ) -> None:
        """A step in the job's log (and ``values`` on its row), in ``db``'s transaction when
        given: a template or version is committed together with the job's record of it,
        so a later attempt after a crash knows it (and a lost lease undoes it)."""
        with contextlib.nullcontext(db) if db is not None else self.ctx.session() as session:
            held = leases.progress(
                session,
                self.plan.id,
                owner=self.owner,
                now=self.ctx.clock(),
                step=step,
                message=message,
                table=ImportJob,
                **values,
            )
        if not held:
            raise TransientError("the job was taken over by another worker")


def where_from(ctx: WorkerContext, user_id: uuid.UUID, spec: str, forge_name: str | None) -> Fetch:
    """Where to fetch ``spec`` from: the public address, or the clone address the linked
    forge gives for its path, with the user's token as git's credentials."""
    from launchpad_web.sources.addresses import address

    try:
        found = address(spec, forge=forge_name, linked={forge_name} - {None})
    except ApiError as exc:
        raise ImportFailedError(exc.message) from None
    if found.forge is None:
        assert found.url is not None
        checked = check_host(found.url, ctx.jobs.private_repository_hosts)
        if checked.refused is not None:
            raise ImportFailedError(checked.refused)
        return Fetch(found.url, None, None, None, checked.resolve)
    if ctx.forges is None:
        raise ImportFailedError("forges are not set up on this installation")
    try:
        with ctx.session() as db:
            forge = ctx.forges.forge(found.forge)
            token = ctx.forges.access_token(db, user_id, found.forge, repositories=True)
    except ApiError as exc:  # not linked any more, revoked, unknown forge
        raise ImportFailedError(f"{exc.message} ({found.forge})") from None
    try:
        repository = forge.repository(token, found.path or "")
    except ForgeTokenRevokedError:
        raise revoked(ctx, user_id, found.forge, forge.label) from None
    except ForgeRepositoryNotFoundError:
        raise ImportFailedError(
            f"no {forge.label} repository {found.path!r} that you can see"
        ) from None
    except ForgeUnavailableError as exc:
        raise TransientError(exc.message) from None
    if found.url is not None and not same_host(found.url, repository.clone_url, repository.web_url):
        raise ImportFailedError(f"{found.spec} is not on {forge.label}")
    return Fetch(
        repository.clone_url,
        Credentials(*forge.git_credentials(token)),
        found.forge,
        repository.path,
    )


def revoked(
    ctx: WorkerContext, user_id: uuid.UUID, forge_name: str, label: str
) -> ImportFailedError:
    """The forge refused the token: dropped (the link shows as revoked), and why."""
    assert ctx.forges is not None
    with ctx.session() as db:
        ctx.forges.revoked(db, user_id, forge_name)
    return ImportFailedError(
        f"{label} no longer accepts LaunchPad's access: link {label} again from your account page"
    )


def _problem(exc: ApiError) -> str:
    """An API error in one line, its first field problems included."""
    details = "; ".join(f"{e.message} at {e.field}" for e in exc.errors[:3])
    return f"{exc.message}: {details}" if details else exc.message


def _repository_name(spec: str) -> str:
    return (
        spec.rstrip("/").removesuffix(".git").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        or "imported template"
    )
