"""One publish job, start to end: lease, repository, commit, push, completion.

The lifecycle is the generation job's (:mod:`launchpad_web.jobs.leases` on the
``publish_jobs`` table): a lease renewed by heartbeats, the sweeper for a worker
that vanished. Every step is safe to run again after a crash:

* the repository: ``create_requested`` is committed before the forge is asked to
  create it, so when a later attempt hears "name taken" it knows the repository may
  be its own and takes it (the push below still refuses a repository with other
  commits); without that flag "name taken" is someone's repository and the job fails;
* the commit is deterministic (the generation job's files, its finishing time, the
  person as author): the same commit id on every attempt;
* the remote's refs are read before pushing: our commit there already means done,
  any other commit means the repository is not empty and nothing is pushed.

A forge or git server that is down is retried (the job goes back to pending and is
queued again) until the job's attempts are used up, then fails saying so. A refused
token is dropped (the link shows as revoked) and fails the job at once. The
generation job and its archive are never touched.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from launchpad_core import LaunchpadError
from launchpad_core.plugins.forges import (
    Forge,
    ForgeRepository,
    ForgeRepositoryExistsError,
    ForgeRepositoryNotFoundError,
    ForgeTokenRevokedError,
    ForgeUnavailableError,
)
from launchpad_web.accounts.models import User
from launchpad_web.errors import ApiError
from launchpad_web.forges.models import ForgeAccount
from launchpad_web.jobs import leases
from launchpad_web.jobs.models import EventKind, GenerationJob, JobStatus, log_entry
from launchpad_web.jobs.storage import artifact_formats, open_archive
from launchpad_web.projects import records as project_records
from launchpad_web.publishing.models import PublishJob
from launchpad_web.templates.models import TemplateRecord

from .context import WorkerContext
from .git_push import (
    Author,
    Credentials,
    GitPushError,
    RemoteRefusedError,
    RemoteUnavailableError,
    commit_archive,
    push,
    remote_heads,
)
from .runner import LeasedRunner, TransientError

log = logging.getLogger("launchpad_worker.publish")


class PublishFailedError(LaunchpadError):
    """The publish cannot succeed by trying again; the message says why, in plain words."""

    code = "publish_failed"


@attrs.frozen
class Plan:
    """What a worker needs of a publish job it holds."""

    id: uuid.UUID
    user_id: uuid.UUID
    attempt: int
    forge: str
    name: str | None
    private: bool
    description: str
    existing: bool
    create_requested: bool
    repository: str | None
    artifact_key: str | None
    generated_at: datetime | None
    template: str
    login: str | None
    email: str

    @classmethod
    def load(cls, db: Session, row: PublishJob) -> Plan:
        job = db.get_one(GenerationJob, row.job_id)
        template = db.scalar(sa.select(TemplateRecord.name).where(
            TemplateRecord.id == job.template_id)) or "a template"
        login = db.scalar(sa.select(ForgeAccount.login).where(
            ForgeAccount.user_id == row.user_id, ForgeAccount.forge == row.forge))
        email = db.scalar(sa.select(User.email).where(User.id == row.user_id)) or ""
        return cls(id=row.id, user_id=row.user_id, attempt=row.attempts, forge=row.forge,
                   name=row.name, private=row.private, description=row.description,
                   existing=row.existing, create_requested=row.create_requested,
                   repository=row.repository,
                   artifact_key=job.artifact_key if job.status == JobStatus.COMPLETED
                   else None, generated_at=job.finished_at,
                   template=f"{template} (version {job.template_version})", login=login,
                   email=email)


class PublishRunner(LeasedRunner[Plan, tuple[str, str]]):
    """Publish jobs (:class:`LeasedRunner`); an attempt answers the repository's web URL
    and the commit id."""

    table = PublishJob
    failure = PublishFailedError
    again = "publish again later"

    def plan(self, db: Session, row: PublishJob) -> Plan:
        return Plan.load(db, row)

    def attempt(self, plan: Plan, owner: str, secret_answers: Mapping[str, Any]
                ) -> tuple[str, str]:
        return Publication(self.context, plan, owner).run()

    def finish(self, plan: Plan, owner: str, result: tuple[str, str]) -> None:
        ctx = self.context
        job, (url, sha) = plan.id, result
        with ctx.session() as db:
            now = ctx.clock()
            done = leases.finish(
                db, job, owner=owner, now=now, table=PublishJob,
                step=log_entry(now, "completed", f"published to {url}"),
                status=JobStatus.COMPLETED, destination_url=url, commit_sha=sha,
                event=(EventKind.JOB_COMPLETED, f"Your project is published: {url}"))
            if done:
                generation = db.scalar(sa.select(PublishJob.job_id).where(PublishJob.id == job))
                project_records.published(db, generation, url)


class Publication:
    """The steps of one attempt; :meth:`run` answers the repository's web URL and the
    commit id, or raises :class:`PublishFailedError` / :class:`TransientError`."""

    def __init__(self, ctx: WorkerContext, plan: Plan, owner: str):
        self.ctx = ctx
        self.plan = plan
        self.owner = owner
        if ctx.forges is None:
            raise PublishFailedError("forges are not set up on this installation")
        self.forges = ctx.forges

    def run(self) -> tuple[str, str]:
        plan = self.plan
        if plan.artifact_key is None or "tar.gz" not in artifact_formats(plan.artifact_key):
            raise PublishFailedError("the job's archive is gone (or was stored before tar.gz "
                                     "archives were kept): generate the project again")
        forge, token = self._token()
        try:
            repository = self._repository(forge, token)
        except ForgeTokenRevokedError:
            raise self._revoked(forge) from None
        except ForgeUnavailableError as exc:
            raise TransientError(exc.message) from None
        username, password = forge.git_credentials(token)
        try:
            sha = self._push(repository, Credentials(username, password))
        except RemoteRefusedError as exc:
            if exc.status == 401:
                raise self._revoked(forge) from None
            raise PublishFailedError(f"{forge.label} refused the push to {repository.path}: "
                                     "you may not write to it") from None
        except RemoteUnavailableError as exc:
            raise TransientError(f"{forge.label}'s git server failed: {exc.message}") from None
        except GitPushError as exc:
            raise PublishFailedError(f"git failed: {exc.message}") from None
        return repository.web_url, sha

    def _token(self) -> tuple[Forge, str]:
        try:
            with self.ctx.session() as db:
                forge = self.forges.forge(self.plan.forge)
                return forge, self.forges.access_token(db, self.plan.user_id, self.plan.forge,
                                                        repositories=True)
        except ApiError as exc:  # not linked any more, revoked, unknown forge
            raise PublishFailedError(exc.message) from None

    def _revoked(self, forge: Forge) -> PublishFailedError:
        with self.ctx.session() as db:
            self.forges.revoked(db, self.plan.user_id, forge.name)
        return PublishFailedError(f"{forge.label} no longer accepts LaunchPad's access: "
                                  f"link {forge.label} again from your account page")

    def _repository(self, forge: Forge, token: str) -> ForgeRepository:
        plan = self.plan
        if plan.repository is not None:
            try:
                return forge.repository(token, plan.repository)
            except ForgeRepositoryNotFoundError:
                raise PublishFailedError(f"no {forge.label} repository {plan.repository!r} "
                                         "that you can see") from None
        self._note("creating", f"creating the {forge.label} repository {plan.name!r}",
                   create_requested=True)
        try:
            created = forge.create_repository(token, name=plan.name or "", private=plan.private,
                                              description=plan.description)
        except ForgeRepositoryExistsError:
            if not plan.create_requested:
                raise PublishFailedError(
                    f"a {forge.label} repository named {plan.name!r} exists already in your "
                    "account: choose another name, or publish into it if it is empty") from None
            created = forge.repository(token, f"{plan.login}/{plan.name}")  # an earlier try's
        self._note("created", f"repository {created.path} is ready", repository=created.path)
        return created

    def _push(self, repository: ForgeRepository, credentials: Credentials) -> str:
        plan = self.plan
        with tempfile.TemporaryDirectory(prefix="launchpad-publish-") as folder:
            work = Path(folder) / "work"
            work.mkdir()
            with contextlib.closing(open_archive(self.ctx.storage, plan.artifact_key,
                                                 "tar.gz")) as archive:
                sha = commit_archive(archive, work, message=self._message(), author=Author(
                    name=plan.login or plan.email.partition("@")[0], email=plan.email,
                    at=plan.generated_at or self.ctx.clock()))
            heads = remote_heads(work, repository.clone_url, credentials)
            if heads.get("refs/heads/main") == sha:
                self._note("pushed", f"commit {sha[:12]} was already pushed to "
                           f"{repository.path}")
                return sha
            if heads:
                raise PublishFailedError(f"the repository {repository.path} is not empty: "
                                         "publish into an empty repository")
            push(work, repository.clone_url, credentials)
        self._note("pushed", f"pushed commit {sha[:12]} to {repository.path}")
        return sha

    def _message(self) -> str:
        return f"Initial commit\n\nGenerated by LaunchPad from {self.plan.template}.\n"

    def _note(self, step: str, message: str, **values: object) -> None:
        with self.ctx.session() as db:
            held = leases.progress(db, self.plan.id, owner=self.owner, now=self.ctx.clock(),
                                   step=step, message=message, table=PublishJob, **values)
        if not held:
            raise TransientError("the job was taken over by another worker")
