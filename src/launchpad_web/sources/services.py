"""Use cases of the sources domain on an injected session; they flush, never commit.

Importing from a repository is a queued job (:class:`~.models.ImportJob`): cloning
can take long, and the import itself evaluates template code, which the worker
hands to the isolation boundary (``launchpad_worker.importing``). The API checks
what it can before a job exists (the address, the ref's spelling, the format,
the forge link, the template's owner) and answers 202 with the job.

Who may do what is the templates domain's rule: re-importing and following change
the template (its owner, or a team's owners and admins); anyone who sees it sees
its source, but the webhook secret only those who may change it. A webhook
names its template in its URL and is verified with that template's secret
before anything else is read; a tag queues one job per template and tag
(``dedupe``), however often it is delivered or polled.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from launchpad_core.plugins.forges import ForgeWebhookPayloadError, ForgeWebhookSignatureError
from launchpad_core.sources.repositories import releases

from ..billing.quotas import Quotas
from ..clock import Clock
from ..errors import (
    ForbiddenError,
    InvalidEventError,
    InvalidSignatureError,
    NotFoundError,
    ValidationFailedError,
)
from ..forges.services import ForgeService
from ..jobs.models import JobStatus, log_entry
from ..teams.access import team_role
from ..templates.access import may_change, visible_to
from ..templates.models import TemplateRecord
from ..templates.schemas import NAME_MAX
from .addresses import Address, address, checked_format, checked_ref
from .models import ImportJob, TemplateSource
from .schemas import (
    ImportJobView,
    ReimportRequest,
    RepositoryImportRequest,
    TemplateSourceView,
    WebhookOutcome,
    WebhookView,
)


class ImportJobNotFoundError(NotFoundError):
    code = "import_job_not_found"
    title = "No such import job"


class NoSourceError(NotFoundError):
    code = "no_source"
    title = "The template was not imported from a repository"


class SourceService:
    def __init__(
        self,
        *,
        forges: ForgeService | None,
        clock: Clock,
        public_url: str,
        quotas: Quotas | None = None,
    ):
        self.forges = forges
        self.clock = clock
        self.public_url = public_url.rstrip("/")
        self.quotas = quotas  # a new template's plan limit, asked before the job exists

    # -- importing -------------------------------------------------------------------
    def submit(
        self, db: Session, *, user_id: uuid.UUID, request: RepositoryImportRequest
    ) -> ImportJobView:
        found = self.address(db, user_id, request.source, request.forge)
        ref, format = checked_ref(request.ref), checked_format(request.format)
        if request.name is not None and not 0 < len(request.name.strip()) <= NAME_MAX:
            raise ValidationFailedError.one(
                "invalid_name", f"a name is 1 to {NAME_MAX} characters", "$.name"
            )
        if request.team_id is not None and team_role(db, request.team_id, user_id) is None:
            raise NotFoundError("no such team", field="$.team_id")
        if self.quotas is not None:  # asked again when the worker creates it
            self.quotas.check_template_create(db, user_id=user_id, team_id=request.team_id)
        return self._queue(
            db,
            user_id=user_id,
            trigger="create",
            found=found,
            ref=ref,
            format=format,
            name=request.name,
            team_id=request.team_id,
        )

    def reimport(
        self, db: Session, *, user_id: uuid.UUID, template_id: uuid.UUID, request: ReimportRequest
    ) -> ImportJobView:
        source = self._source(db, user_id, template_id, change=True)
        ref = checked_ref(request.ref) if request.ref is not None else source.ref
        return self._queue(
            db,
            user_id=user_id,
            trigger="reimport",
            template_id=template_id,
            found=Address(source.spec, None, source.forge, source.repository),
            ref=ref,
            format=source.format,
        )

    def address(self, db: Session, user_id: uuid.UUID, spec: str, forge: str | None) -> Address:
        """``spec`` checked, and the forge it is read through set up and linked."""
        if forge is not None and self.forges is None:
            raise ValidationFailedError.one("unknown_forge", "no forge is set up here", "$.forge")
        if forge is not None:
            assert self.forges is not None
            self.forges.forge(forge)
        found = address(spec, forge=forge, linked=self._usable(db, user_id))
        if found.forge is not None:
            assert self.forges is not None
            self.forges.require_repositories(db, user_id, found.forge)
        return found

    def job(self, db: Session, *, user_id: uuid.UUID, import_id: uuid.UUID) -> ImportJobView:
        row = db.scalar(
            sa.select(ImportJob)
            .where(ImportJob.id == import_id, ImportJob.user_id == user_id)
            .execution_options(populate_existing=True)
        )
        if row is None:
            raise ImportJobNotFoundError()
        return ImportJobView.from_row(row)

    # -- the source and following ------------------------------------------------------
    def source(
        self, db: Session, *, user_id: uuid.UUID, template_id: uuid.UUID
    ) -> TemplateSourceView:
        source = self._source(db, user_id, template_id, change=False)
        return self._view(source, self._may_change(db, user_id, template_id))

    def follow(
        self, db: Session, *, user_id: uuid.UUID, template_id: uuid.UUID, following: bool
    ) -> TemplateSourceView:
        source = self._source(db, user_id, template_id, change=True)
        source.following = following
        if following and source.webhook_secret is None and self.forges is not None:
            source.webhook_secret = self.forges.cipher.encrypt(secrets.token_urlsafe(32))
        source.checked_at = None if following else source.checked_at
        if following:  # (again): polled at the next sweep, failures forgotten
            source.poll_failures, source.poll_error, source.poll_after = 0, None, None
        source.updated_at = self.clock()
        db.flush()
        return self._view(source, True)

    def webhook(
        self,
        db: Session,
        *,
        forge_name: str,
        template_id: uuid.UUID,
        headers: Mapping[str, str],
        body: bytes,
    ) -> WebhookOutcome:
        """A forge's delivery for the template: verified first (400 ``invalid_signature``),
        then a release tag queues one import (see the module)."""
        if self.forges is None:
            raise NotFoundError("no forge is set up here")
        forge = self.forges.forge(forge_name)
        source = db.get(TemplateSource, template_id)
        if source is None or source.webhook_secret is None:
            raise NotFoundError("no template here takes webhooks at this address")
        secret = self.forges.cipher.decrypt(source.webhook_secret)
        try:
            pushed = forge.webhook_tag(headers, body, secret)
        except ForgeWebhookSignatureError as exc:
            raise InvalidSignatureError(exc.message) from None
        except ForgeWebhookPayloadError as exc:
            raise InvalidEventError(exc.message) from None
        if not source.following:
            return WebhookOutcome(False, reason="the template does not follow its repository")
        if pushed is None:
            return WebhookOutcome(False, reason="not a tag pushed")
        if not releases([(pushed.tag, "")]):
            return WebhookOutcome(False, reason=f"{pushed.tag!r} is not a release version")
        queued = self.queue_follow(db, source, tag=pushed.tag, trigger="webhook")
        if queued is None:
            return WebhookOutcome(False, reason=f"the tag {pushed.tag!r} was queued already")
        return WebhookOutcome(True, queued)

    def queue_follow(
        self, db: Session, source: TemplateSource, *, tag: str, trigger: str
    ) -> uuid.UUID | None:
        """A job importing the newest release for a followed template, once per ``tag``
        (None when one exists already); the template's owner is the job's user."""
        dedupe = f"tag:{tag}"
        exists = sa.select(ImportJob.id).where(
            ImportJob.template_id == source.template_id, ImportJob.dedupe == dedupe
        )
        if db.scalar(exists) is not None:
            return None
        owner = db.scalar(
            sa.select(TemplateRecord.owner_id).where(TemplateRecord.id == source.template_id)
        )
        try:
            with db.begin_nested():
                view = self._queue(
                    db,
                    user_id=owner,
                    trigger=trigger,
                    template_id=source.template_id,
                    found=Address(source.spec, None, source.forge, source.repository),
                    ref=None,
                    format=source.format,
                    dedupe=dedupe,
                    note=f"the tag {tag} was pushed",
                )
        except IntegrityError:  # the same tag, delivered at the same time
            return None
        return view.id

    # -- helpers -----------------------------------------------------------------------
    def _queue(
        self,
        db: Session,
        *,
        user_id: uuid.UUID,
        trigger: str,
        found: Address,
        ref: str | None,
        format: str | None,
        template_id: uuid.UUID | None = None,
        name: str | None = None,
        team_id: uuid.UUID | None = None,
        dedupe: str | None = None,
        note: str | None = None,
    ) -> ImportJobView:
        now = self.clock()
        at = f" at {ref}" if ref else ""
        row = ImportJob(
            user_id=user_id,
            template_id=template_id,
            team_id=team_id,
            spec=found.spec,
            ref=ref,
            format=format,
            forge=found.forge,
            name=name.strip() if name else None,
            trigger=trigger,
            dedupe=dedupe,
            status=JobStatus.PENDING,
            attempts=0,
            created_at=now,
            updated_at=now,
            log=[
                log_entry(
                    now,
                    "queued",
                    f"{note or 'asked'}: importing {found.spec}{at}; waiting for a worker",
                )
            ],
        )
        db.add(row)
        db.flush()
        return ImportJobView.from_row(row)

    def _usable(self, db: Session, user_id: uuid.UUID) -> set[str]:
        """The user's linked forges set up here that a shorthand ``gh:``/``gl:`` is read
        through: all but those allowed to sign in only (through those, it is read as a
        public repository; through a revoked one, the person is asked to link again)."""
        if self.forges is None:
            return set()
        return {link.forge for link in self.forges.links(db, user_id)
                if link.token == "revoked" or link.repositories}

    def _source(
        self, db: Session, user_id: uuid.UUID, template_id: uuid.UUID, *, change: bool
    ) -> TemplateSource:
        row = db.scalar(
            sa.select(TemplateRecord).where(TemplateRecord.id == template_id, visible_to(user_id))
        )
        if row is None:
            raise NotFoundError("no such template")
        if change and not self._may_change(db, user_id, template_id, row):
            raise ForbiddenError(
                "only the template's owner and the team's owners and admins "
                "may re-import it or change what it follows"
            )
        source = db.get(TemplateSource, template_id, populate_existing=True)
        if source is None:
            raise NoSourceError()
        return source

    def _may_change(
        self,
        db: Session,
        user_id: uuid.UUID,
        template_id: uuid.UUID,
        row: TemplateRecord | None = None,
    ) -> bool:
        row = row or db.get_one(TemplateRecord, template_id)
        role = team_role(db, row.team_id, user_id) if row.team_id is not None else None
        return may_change(row, user_id, role)

    def _view(self, source: TemplateSource, show_secret: bool) -> TemplateSourceView:
        hooks = []
        if self.forges is not None and source.following and source.webhook_secret:
            secret = self.forges.cipher.decrypt(source.webhook_secret) if show_secret else None
            hooks = [
                WebhookView(
                    name,
                    f"{self.public_url}/api/webhooks/{name}/templates/{source.template_id}",
                    secret,
                )
                for name in self.forges.forges
            ]
        return TemplateSourceView.from_row(source, hooks)
