"""Generation job use cases on an injected session; they flush, never commit.

:meth:`JobService.submit` checks everything a worker would refuse before a job
exists: the template is visible to the user, the version exists, the answers
are valid for it (every problem at once, located under ``$.answers``: defaults,
``when``, patterns and validators are template code, evaluated through the
:class:`~launchpad_web.evaluation.Evaluator` after the request ended its
transaction), the template runs no code, and the plan allows another generation
and another job in flight. The row stores
the answers with secret values redacted; the secret values are returned to the
caller, which hands them to the queue only (see :mod:`launchpad_worker.queue`).

With an ``Idempotency-Key`` (the request's header: up to 255 printable ASCII
characters), a submission the user made before under that key answers the job it
made (``replayed``; no second job, no quota counted), provided the request is the
same (else 422 ``idempotency_key_reused``): a client whose answer was lost (the API
stopped mid-request) sends it again and learns its job. Two at once under one key
make one job (the unique ``(user_id, idempotency_key)``).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from launchpad_core import DefinitionError, Template
from launchpad_core.importers.importing import load_warnings, skipped_tasks, task_name
from launchpad_core.isolation.hosted import unskippable_code
from launchpad_core.model.serialization import structure_template

from ..billing.quotas import Quotas
from ..clock import Clock
from ..db import end_transaction
from ..errors import (
    ApiError,
    ConflictError,
    InvalidDefinitionError,
    NotFoundError,
    ValidationFailedError,
)
from ..evaluation import Evaluator
from ..templates.access import visible_to
from ..templates.models import TemplateRecord, TemplateVersion
from .models import REDACTED, Event, GenerationJob, JobStatus, log_entry
from .schemas import EventView, GenerateRequest, JobView
from .storage import artifact_formats

CACHED_TEMPLATES = 64
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class JobNotFoundError(NotFoundError):
    code = "job_not_found"
    title = "No such generation job"


class ArtifactNotReadyError(ConflictError):
    code = "artifact_not_ready"
    title = "The job has no archive to download"


class FormatUnavailableError(ConflictError):
    code = "format_unavailable"
    title = "The job's archive is not kept in this format"


@attrs.frozen
class Submitted:
    """A new job (to enqueue with its secret answers), or with ``replayed`` the job an
    earlier submission under the same idempotency key made (already queued)."""

    job: JobView
    secret_answers: dict[str, Any] = attrs.field(repr=False)
    replayed: bool = False


IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")


class InvalidIdempotencyKeyError(ApiError):
    code = "invalid_idempotency_key"
    title = "An Idempotency-Key is 1 to 255 printable ASCII characters"


class IdempotencyKeyReusedError(ApiError):
    status = 422
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used for another request"


def idempotency_key(value: str | None) -> str | None:
    """The header's key checked (400 ``invalid_idempotency_key``), or None without one."""
    if value is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise InvalidIdempotencyKeyError(field=IDEMPOTENCY_HEADER)
    return value


def request_digest(request: GenerateRequest) -> str:
    """What makes two submissions under one key the same request."""
    canonical = json.dumps({"template_id": str(request.template_id), "version": request.version,
                            "answers": request.answers}, sort_keys=True, separators=(",", ":"),
                           default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class _TemplateCache:
    """Structured templates by (template id, version number): versions never change.
    (Structuring runs no template code; the definition was checked when it was saved.)"""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict[tuple[uuid.UUID, int], Template] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[uuid.UUID, int],
            definition: Callable[[], Mapping[str, Any]]) -> Template:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        try:
            template = structure_template(dict(definition()))
        except DefinitionError as exc:
            raise InvalidDefinitionError.from_problems(exc.problems, root="$.definition") from None
        with self.lock:
            self.items[key] = template
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return template


def _skipped_entry(now: Any, template: Template) -> list[dict[str, Any]]:
    """A log line stating the tasks and hooks this render leaves out, if it has any."""
    skipped = [*skipped_tasks(template), *map(task_name, template.settings.tasks)]
    if not skipped:
        return []
    return [log_entry(now, "tasks_skipped", "tasks and hooks are not run by the hosted "
                      f"service (as with --skip-tasks): {'; '.join(skipped)}",
                      skipped=skipped)]


def _warning_entries(now: Any, template: Template) -> list[dict[str, Any]]:
    """A log line for each warning of the template's importer (a ``.git`` left out ...)."""
    return [log_entry(now, "import_warning", warning) for warning in load_warnings(template)]


class JobService:
    def __init__(self, *, quotas: Quotas, clock: Clock, evaluator: Evaluator | None = None):
        self.quotas = quotas
        self.clock = clock
        self.evaluator = evaluator or Evaluator()
        self.templates = _TemplateCache(CACHED_TEMPLATES)

    def submit(self, db: Session, *, user_id: uuid.UUID, request: GenerateRequest,
               key: str | None = None) -> Submitted:
        digest = request_digest(request) if key is not None else None
        if key is not None and (earlier := self._replay(db, user_id, key, digest)) is not None:
            return earlier
        record = self._visible_template(db, user_id, request.template_id)
        number = self._version(db, record, request.version)
        template = self.templates.get((record.id, number), lambda: self._definition(
            db, record.id, number))
        if code := unskippable_code(template):
            raise ValidationFailedError.one(
                "untrusted_code", f"the template would run code ({', '.join(code)}); the "
                "hosted service never runs a template's code", "$.template_id")
        end_transaction(db)
        answers = self.evaluator.answers(template, request.answers, user_id=user_id)
        record = self._visible_template(db, user_id, request.template_id)  # still there?
        self.quotas.check_generation(db, user_id=user_id, team_id=record.team_id)
        self.quotas.check_jobs_in_flight(db, user_id=user_id)
        now = self.clock()
        job = GenerationJob(
            user_id=user_id, template_id=record.id, template_version=number,
            status=JobStatus.PENDING, attempts=0, created_at=now, updated_at=now,
            answers={k: REDACTED if k in answers.secret else v
                     for k, v in request.answers.items()},
            log=[*_skipped_entry(now, template), *_warning_entries(now, template),
                 log_entry(now, "queued", "waiting for a worker")],
            idempotency_key=key, request_digest=digest,
        )
        if key is None:
            db.add(job)
            db.flush()
        else:  # (a savepoint only here: two submissions under one key can race)
            try:
                with db.begin_nested():
                    db.add(job)
            except IntegrityError:  # the same key's other submission was first
                earlier = self._replay(db, user_id, key, digest)
                if earlier is None:
                    raise
                return earlier
        secret = {k: v for k, v in request.answers.items() if k in answers.secret}
        return Submitted(JobView.from_row(job), secret)

    def _replay(self, db: Session, user_id: uuid.UUID, key: str,
                digest: str | None) -> Submitted | None:
        """The job made under ``key`` before, if any (422 when for another request)."""
        earlier = db.scalar(sa.select(GenerationJob).where(
            GenerationJob.user_id == user_id, GenerationJob.idempotency_key == key))
        if earlier is None:
            return None
        if earlier.request_digest != digest:
            raise IdempotencyKeyReusedError(field=IDEMPOTENCY_HEADER)
        return Submitted(JobView.from_row(earlier), {}, replayed=True)

    def _visible_template(self, db: Session, user_id: uuid.UUID,
                          template_id: uuid.UUID) -> sa.Row:
        """Id, latest version and team of a template the user may use (not its definition,
        which is read only when the checked template is not cached)."""
        record = db.execute(sa.select(TemplateRecord.id, TemplateRecord.version,
                                      TemplateRecord.team_id).where(
            TemplateRecord.id == template_id, visible_to(user_id))).first()
        if record is None:
            raise NotFoundError("no such template", field="$.template_id")
        return record

    def _version(self, db: Session, record: sa.Row, number: int | None) -> int:
        if number is None or number == record.version:
            return record.version
        exists = db.scalar(sa.select(TemplateVersion.id).where(
            TemplateVersion.template_id == record.id, TemplateVersion.number == number))
        if exists is None:
            raise NotFoundError(f"the template has no version {number}", field="$.version")
        return number

    def _definition(self, db: Session, template_id: uuid.UUID, number: int) -> dict[str, Any]:
        definition = db.scalar(sa.select(TemplateVersion.definition).where(
            TemplateVersion.template_id == template_id, TemplateVersion.number == number))
        if definition is None:  # a template saved without its versions' history
            definition = db.scalar(sa.select(TemplateRecord.definition).where(
                TemplateRecord.id == template_id, TemplateRecord.version == number))
        return definition

    def get(self, db: Session, *, user_id: uuid.UUID, job_id: uuid.UUID) -> JobView:
        return JobView.from_row(self._job(db, user_id, job_id))

    def _job(self, db: Session, user_id: uuid.UUID, job_id: uuid.UUID) -> GenerationJob:
        job = db.scalar(sa.select(GenerationJob).where(
            GenerationJob.id == job_id, GenerationJob.user_id == user_id)
            .execution_options(populate_existing=True))
        if job is None:
            raise JobNotFoundError()
        return job

    def artifact(self, db: Session, *, user_id: uuid.UUID, job_id: uuid.UUID,
                 fmt: str) -> tuple[str, str]:
        """The stored artifact's key and a safe base file name for a download in ``fmt``."""
        job = self._job(db, user_id, job_id)
        if job.status != JobStatus.COMPLETED or not job.artifact_key:
            raise ArtifactNotReadyError(f"the job is {job.status.value}"
                                        if job.status != JobStatus.COMPLETED
                                        else "the archive was deleted (retention period)")
        if fmt not in artifact_formats(job.artifact_key):
            raise FormatUnavailableError(
                f"this job was stored before {fmt} archives were kept: download it as "
                f"{' or '.join(artifact_formats(job.artifact_key))}, or generate it again",
                field="format")
        name = db.scalar(sa.select(TemplateRecord.name).where(
            TemplateRecord.id == job.template_id)) or ""
        safe = _UNSAFE_NAME.sub("-", name).strip(".-")[:80] or "project"
        return job.artifact_key, f"{safe}-{str(job.id)[:8]}"

    def recent(self, db: Session, *, user_id: uuid.UUID, limit: int = 10) -> list[JobView]:
        """The user's latest jobs, newest first."""
        rows = db.scalars(sa.select(GenerationJob).where(GenerationJob.user_id == user_id)
                          .order_by(GenerationJob.created_at.desc(), GenerationJob.id)
                          .limit(limit))
        return [JobView.from_row(row) for row in rows]

    def events(self, db: Session, *, user_id: uuid.UUID, limit: int = 50) -> list[EventView]:
        rows = db.scalars(sa.select(Event).where(Event.user_id == user_id)
                          .order_by(Event.created_at.desc(), Event.id).limit(limit))
        return [EventView.from_row(row) for row in rows]
