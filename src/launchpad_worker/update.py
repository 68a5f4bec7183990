"""One update job, start to end: lease, the project's files, the isolated merge, the
patch, and for a project published to a forge repository its pull (merge) request.

The lifecycle is the generation job's (:mod:`launchpad_web.jobs.leases` on the
``update_jobs`` table). The project's files are checked out into a staging folder as
git: the forge repository's default branch (the person's commits included), or the
generation's archive committed once (when it has expired, the version the project was
made from rendered again with its answers). The resource-limited child
(:mod:`.update_render`) renders both versions and merges them into that checkout;
the worker commits the change (deterministically: the job's creation time and the
person as author, so every attempt makes the same commit id), writes ``git diff``
of it as the patch and the conflicts as JSON into the artifact storage, and for a
forge project pushes the branch ``launchpad/update-to-v<N>`` (skipped when the remote
branch already holds that commit) and asks the forge for the pull request (which
answers the one already open): retrying never pushes a second commit or opens a
second request. Every completed update also answers the fleet's "would it conflict"
for its project and version (:mod:`launchpad_web.updates.checks`).

A forge or git server that is down is retried as publish jobs are; what the template
causes (bad answers, a secret to give again, limits) fails the job at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from launchpad_core import AnswersError, LaunchpadError
from launchpad_core.isolation.children import run_isolated
from launchpad_core.plugins.forges import (
    Forge,
    ForgeRepository,
    ForgeRepositoryNotFoundError,
    ForgeTokenRevokedError,
    ForgeUnavailableError,
)
from launchpad_web.accounts.models import User
from launchpad_web.errors import ApiError
from launchpad_web.forges.models import ForgeAccount
from launchpad_web.jobs import leases
from launchpad_web.jobs.models import EventKind, GenerationJob, JobStatus, log_entry
from launchpad_web.jobs.storage import artifact_formats, artifact_key, open_archive
from launchpad_web.projects.models import Project
from launchpad_web.publishing.models import PublishJob
from launchpad_web.updates import checks
from launchpad_web.updates.models import UpdateJob

from .context import WorkerContext
from .git_push import (
    BRANCH as GENERATED_BRANCH,
)
from .git_push import (
    Author,
    Credentials,
    GitPushError,
    RemoteRefusedError,
    RemoteUnavailableError,
    clone,
    commit_all,
    commit_archive,
    head,
    init,
    push_branch,
    remote_heads,
    write_patch,
)
from .runner import LeasedRunner, TransientError, failure_reason
from .update_render import UpdateAnswers, UpdateOutcome, rebuild_project, update_project

log = logging.getLogger("launchpad_worker.update")

BRANCH = "launchpad/update-to-v{version}"


class UpdateFailedError(LaunchpadError):
    """The update cannot succeed by trying again; the message says why, in plain words."""

    code = "update_failed"


@attrs.frozen
class Destination:
    """The forge repository a project was published to."""

    forge: str
    repository: str


@attrs.frozen
class Plan:
    """What a worker needs of an update job it holds."""

    id: uuid.UUID
    user_id: uuid.UUID
    project_id: uuid.UUID
    attempt: int
    from_version: int
    target_version: int
    old_definition: dict[str, Any] | None
    new_definition: dict[str, Any] | None
    stored: dict[str, Any]
    given: dict[str, Any]
    archive: str | None
    destination: Destination | None
    created_at: datetime
    author: str
    email: str

    @classmethod
    def load(cls, db: Session, row: UpdateJob) -> Plan:
        return cls.of_project(db, db.get_one(Project, row.project_id), row)

    @classmethod
    def of_project(cls, db: Session, project: Project, row: UpdateJob) -> Plan:
        """The plan of ``row``, an update job of ``project`` (a check: one not stored)."""
        job = db.get(GenerationJob, project.job_id) if project.job_id else None
        email = db.scalar(sa.select(User.email).where(User.id == row.user_id)) or ""
        destination = _destination(db, project) if project.destination else None
        login = destination and db.scalar(sa.select(ForgeAccount.login).where(
            ForgeAccount.user_id == row.user_id, ForgeAccount.forge == destination.forge))
        template_id = project.template_id

        def definition(number: int) -> dict[str, Any] | None:
            return None if template_id is None else leases.definition(db, template_id, number)

        return cls(id=row.id, user_id=row.user_id, project_id=project.id, attempt=row.attempts,
                   from_version=row.from_version, target_version=row.target_version,
                   old_definition=definition(row.from_version),
                   new_definition=definition(row.target_version),
                   stored=dict(project.answers), given=dict(row.answers),
                   archive=job.artifact_key if job is not None and job.status ==
                   JobStatus.COMPLETED else None, destination=destination,
                   created_at=row.created_at, author=login or email.partition("@")[0],
                   email=email)

    @property
    def branch(self) -> str:
        return BRANCH.format(version=self.target_version)


def _destination(db: Session, project: Project) -> Destination | None:
    found = db.execute(sa.select(PublishJob.forge, PublishJob.repository).where(
        PublishJob.job_id == project.job_id, PublishJob.status == JobStatus.COMPLETED,
        PublishJob.destination_url == project.destination)
        .order_by(PublishJob.finished_at.desc())).first()
    return Destination(found.forge, found.repository) if found and found.repository else None


@attrs.frozen
class Result:
    key: str
    outcome: UpdateOutcome
    commit: str | None
    change_url: str | None = None


class UpdateRunner(LeasedRunner[Plan, Result]):
    """Update jobs (:class:`LeasedRunner`), and the fleet's conflict checks."""

    table = UpdateJob
    failure = UpdateFailedError
    again = "update again later"

    def plan(self, db: Session, row: UpdateJob) -> Plan:
        return Plan.load(db, row)

    def attempt(self, plan: Plan, owner: str, secret_answers: Mapping[str, Any]) -> Result:
        return Update(self.context, plan, owner, secret_answers).run()

    def check(self, project_id: str, target_version: int) -> None:
        """Answer whether updating the project to ``target_version`` would conflict (the
        same merge, not applied, nothing stored); the Huey task calls this. A check that
        cannot be made leaves the answer unknown (null)."""
        ctx = self.context
        with ctx.session() as db:
            project = db.get(Project, uuid.UUID(project_id))
            if project is None or project.template_id is None:
                return
            now = ctx.clock()
            plan = Plan.of_project(db, project, UpdateJob(
                id=uuid.uuid4(), user_id=project.user_id, attempts=0,
                from_version=project.template_version, target_version=target_version,
                answers={}, created_at=now))
        try:
            conflicts: bool | None = Check(ctx, plan, "", {}).conflicts()
        except (UpdateFailedError, TransientError) as exc:
            log.info("fleet check not made", extra={"project_id": project_id,
                                                    "reason": exc.message})
            conflicts = None  # answered: it cannot be known
        with ctx.session() as db:
            checks.record(db, plan.project_id, target_version, would_conflict=conflicts,
                          now=ctx.clock())

    def finish(self, plan: Plan, owner: str, result: Result) -> None:
        ctx = self.context
        outcome = result.outcome
        now = ctx.clock()
        said = (f"{len(outcome.changed)} files changed, {len(outcome.conflicts)} with "
                "conflicts" + (f"; {result.change_url}" if result.change_url else ""))
        with ctx.session() as db:
            done = leases.finish(
                db, plan.id, owner=owner, now=now, table=UpdateJob,
                step=log_entry(now, "completed", said), status=JobStatus.COMPLETED,
                event=(EventKind.JOB_COMPLETED, f"Your project's update is ready: {said}"),
                artifact_key=result.key, conflicts=list(outcome.conflicts),
                changed_files=len(outcome.changed), commit_sha=result.commit,
                branch=plan.branch if result.change_url else None,
                change_url=result.change_url)
            if done:
                checks.record(db, plan.project_id, plan.target_version,
                              would_conflict=bool(outcome.conflicts), now=now)
        if not done:
            ctx.storage.delete(result.key)


class Update:
    """The steps of one attempt: :meth:`run` answers a :class:`Result` or raises
    :class:`UpdateFailedError` / :class:`TransientError`."""

    def __init__(self, ctx: WorkerContext, plan: Plan, owner: str,
                 secret_answers: Mapping[str, Any]):
        self.ctx = ctx
        self.plan = plan
        self.owner = owner
        self.secret_answers = secret_answers
        self.token = ""  # the forge's access token, once :meth:`_remote` has it

    def run(self) -> Result:
        plan = self.plan
        if plan.old_definition is None or plan.new_definition is None:
            raise UpdateFailedError("the template (or one of its versions) was deleted")
        remote = self._remote() if plan.destination is not None else None
        token = secrets.token_hex(8)
        with self.ctx.storage.staging() as staging:
            work = staging / "project"
            base = self._checkout(staging, work, remote)
            outcome = self._merge(work)
            commit = commit_all(work, branch=plan.branch, message=self._message(),
                                author=Author(plan.author or "launchpad", plan.email,
                                              plan.created_at))
            files = self._files(staging, work, base, commit, outcome)
            key = artifact_key(plan.id, token)
            self.ctx.storage.save(key, files)
            try:
                url = self._propose(work, remote, commit) if remote and commit else None
            except BaseException:
                self.ctx.storage.delete(key)
                raise
        return Result(key, outcome, commit, url)

    # -- the project's files ------------------------------------------------------------
    def _checkout(self, staging: Path, work: Path,
                  remote: tuple[Forge, ForgeRepository, Credentials] | None) -> str:
        if remote is not None:
            forge, repository, credentials = remote
            with _git_errors(forge.label):
                clone(repository.clone_url, work, credentials)
            self._note("checked_out", f"cloned {repository.path}")
            return head(work)
        archive = self.plan.archive
        if archive is None or "tar.gz" not in artifact_formats(archive):
            return self._rebuild(work)
        bare = staging / "generated.git"
        bare.mkdir()
        with contextlib.closing(open_archive(self.ctx.storage, archive, "tar.gz")) as stream:
            commit_archive(stream, bare, message="Generated\n", author=Author(
                "launchpad", self.plan.email, self.plan.created_at))
        clone(str(bare), work, local=True)
        return head(work)

    def _rebuild(self, work: Path) -> str:
        """The project as generated when its archive has expired: the version it was made
        from rendered again (in the child) with its recorded answers, committed once. A
        line using a secret not given again, a date or a random value may differ from
        the person's files, and a hunk around it may not apply."""
        plan = self.plan
        assert plan.old_definition is not None  # checked by run()
        work.mkdir()
        init(work)
        try:
            count = run_isolated(rebuild_project, plan.old_definition,
                                 UpdateAnswers(plan.stored, {}, dict(self.secret_answers)),
                                 str(work), cache=self.ctx.compiled_cache, limits=self.ctx.limits)
        except LaunchpadError as exc:
            raise UpdateFailedError(failure_reason(exc, self.ctx.jobs)) from None
        commit_all(work, branch=GENERATED_BRANCH, message="Generated again\n", author=Author(
            "launchpad", plan.email, plan.created_at))
        self._note("rebuilt", f"the project's archive has expired: version {plan.from_version} "
                   f"rendered again with its answers ({count} files) is the patch's base")
        return head(work)

    def _merge(self, work: Path, *, apply: bool = True) -> UpdateOutcome:
        plan = self.plan
        try:
            outcome = run_isolated(
                update_project, (plan.old_definition, plan.new_definition),
                UpdateAnswers(plan.stored, plan.given, dict(self.secret_answers)), str(work),
                cache=self.ctx.compiled_cache, apply=apply, limits=self.ctx.limits)
        except AnswersError as exc:
            names = ", ".join(p.path.removeprefix("$.") for p in exc.problems)
            raise UpdateFailedError(f"{exc.message} ({names})" if names else exc.message) \
                from None
        except LaunchpadError as exc:
            raise UpdateFailedError(failure_reason(exc, self.ctx.jobs)) from None
        self._note("merged", f"{len(outcome.changed)} files changed, "
                   f"{len(outcome.conflicts)} with conflicts")
        return outcome

    def _files(self, staging: Path, work: Path, base: str, commit: str | None,
               outcome: UpdateOutcome) -> dict[str, Path]:
        patch, listed = staging / "artifact.patch", staging / "artifact.conflicts.json"
        if commit is None:
            patch.write_bytes(b"")
        else:
            write_patch(work, base, commit, patch)
        listed.write_text(json.dumps({
            "from_version": self.plan.from_version, "target_version": self.plan.target_version,
            "changed": list(outcome.changed), "conflicts": list(outcome.conflicts),
            "kept": list(outcome.kept), "renamed": [list(pair) for pair in outcome.renamed]},
            indent=2) + "\n")
        return {"patch": patch, "conflicts.json": listed}

    def _message(self) -> str:
        plan = self.plan
        return (f"Update to version {plan.target_version} of the template\n\n"
                f"Made by LaunchPad: version {plan.from_version} -> {plan.target_version}.\n")

    # -- the forge ------------------------------------------------------------------------
    def _remote(self) -> tuple[Forge, ForgeRepository, Credentials]:
        ctx, destination = self.ctx, self.plan.destination
        assert destination is not None
        if ctx.forges is None:
            raise UpdateFailedError("forges are not set up on this installation")
        try:
            with ctx.session() as db:
                forge = ctx.forges.forge(destination.forge)
                token = ctx.forges.access_token(db, self.plan.user_id, destination.forge,
                                                repositories=True)
        except ApiError as exc:  # not linked any more, revoked, unknown forge
            raise UpdateFailedError(exc.message) from None
        self.token = token
        with _forge_errors(self, forge):
            try:
                repository = forge.repository(token, destination.repository)
            except ForgeRepositoryNotFoundError:
                raise UpdateFailedError(f"no {forge.label} repository "
                                        f"{destination.repository!r} that you can see") \
                    from None
        return forge, repository, Credentials(*forge.git_credentials(token))

    def _propose(self, work: Path, remote: tuple[Forge, ForgeRepository, Credentials],
                 commit: str) -> str:
        forge, repository, credentials = remote
        plan = self.plan
        with _git_errors(forge.label):
            heads = remote_heads(work, repository.clone_url, credentials)
            if heads.get(f"refs/heads/{plan.branch}") != commit:
                push_branch(work, repository.clone_url, plan.branch, credentials)
        self._note("pushed", f"branch {plan.branch} holds commit {commit[:12]}")
        base = repository.default_branch or "main"
        with _forge_errors(self, forge):
            change = forge.open_change_request(
                self.token, repository=repository, branch=plan.branch, base=base,
                title=f"Update to version {plan.target_version} of the template",
                body=self._message().partition("\n\n")[2])
        self._note("proposed", f"{forge.label}: {change.web_url}")
        return change.web_url

    def _revoked(self, forge: Forge) -> UpdateFailedError:
        with self.ctx.session() as db:
            self.ctx.forges.revoked(db, self.plan.user_id, forge.name)  # type: ignore[union-attr]
        return UpdateFailedError(f"{forge.label} no longer accepts LaunchPad's access: "
                                 f"link {forge.label} again from your account page")

    def _note(self, step: str, message: str) -> None:
        with self.ctx.session() as db:
            held = leases.progress(db, self.plan.id, owner=self.owner, now=self.ctx.clock(),
                                   step=step, message=message, table=UpdateJob)
        if not held:
            raise TransientError("the job was taken over by another worker")


class Check(Update):
    """The merge of an update, not applied: does it conflict? (The fleet's answer.)"""

    def conflicts(self) -> bool:
        plan = self.plan
        if plan.old_definition is None or plan.new_definition is None:
            raise UpdateFailedError("the template (or one of its versions) was deleted")
        remote = self._remote() if plan.destination is not None else None
        with self.ctx.storage.staging() as staging:
            work = staging / "project"
            self._checkout(staging, work, remote)
            return bool(self._merge(work, apply=False).conflicts)

    def _note(self, step: str, message: str) -> None:
        """A check has no job and no log."""


@contextlib.contextmanager
def _forge_errors(update: Update, forge: Forge) -> Any:
    try:
        yield
    except ForgeTokenRevokedError:
        raise update._revoked(forge) from None
    except ForgeUnavailableError as exc:
        raise TransientError(exc.message) from None


@contextlib.contextmanager
def _git_errors(label: str) -> Any:
    try:
        yield
    except RemoteRefusedError:
        raise UpdateFailedError(f"{label} refused git: you may not write to the "
                                "repository") from None
    except RemoteUnavailableError as exc:
        raise TransientError(f"{label}'s git server failed: {exc.message}") from None
    except GitPushError as exc:
        raise UpdateFailedError(f"git failed: {exc.message}") from None
