"""Template use cases on an injected session; they flush, never commit.

Access follows :mod:`launchpad_web.templates.access`: an id the user may not see
is 404 exactly like one that does not exist, before anything else is looked at.
Every save is checked by the core (structure, problems, and no executed code: the
hosted service never runs a template's tasks or Jinja extensions) through the
:class:`~launchpad_web.evaluation.Evaluator` (compiling a user's Jinja is
evaluating template code: it runs in an isolated child, after the request has
ended its transaction) and stored as a new :class:`TemplateVersion`; the row's
``version`` is bumped with a conditional ``UPDATE ... WHERE version = <expected>``,
so of two concurrent saves based on the same version exactly one wins and the
other answers ``version_conflict``.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session, defer

from launchpad_core import DefinitionError, LaunchpadError, Problem, Template
from launchpad_core.model import strict_json
from launchpad_core.model.serialization import structure_template

from ..billing.quotas import Quotas
from ..clock import Clock
from ..converter import MAX_VERSION
from ..db import end_transaction
from ..errors import (
    FieldError,
    ForbiddenError,
    InvalidDefinitionError,
    InvalidPreconditionError,
    NotFoundError,
    PreconditionRequiredError,
    StalePreconditionError,
    ValidationFailedError,
    VersionConflictError,
)
from ..evaluation import Evaluator
from ..teams.access import team_role
from ..teams.services import member_ids
from .access import may_change, visible_to
from .cache import ListPages
from .models import TemplateRecord, TemplateVersion
from .preview import preview_file
from .schemas import (
    NAME_MAX,
    FormProblem,
    FormQuestion,
    FormRequest,
    FormView,
    PreviewRequest,
    PreviewSkipped,
    PreviewView,
    TemplatePage,
    TemplateRequest,
    TemplateSummary,
    TemplateUpdateRequest,
    TemplateVersionSummary,
    TemplateVersionView,
    TemplateView,
)

PAGE_DEFAULT = 20
PAGE_MAX = 100
CURSOR_MAX = 4096  # base64 of [name, id]: a name of NAME_MAX astral characters, escaped


@attrs.frozen
class ListQuery:
    """``GET /api/templates`` parameters: page size, opaque cursor, optional team, and
    ``search``: only names containing it (case-insensitive)."""

    limit: int = PAGE_DEFAULT
    cursor: str | None = None
    team_id: uuid.UUID | None = None
    search: str | None = None

    def as_key(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "cursor": self.cursor,
            "team_id": str(self.team_id) if self.team_id else None,
            "search": self.search,
        }


@attrs.frozen
class Precondition:
    """The version a write is based on: the body's ``version`` and/or ``If-Match``."""

    version: int | None = None
    if_match: str | None = None

    def expected(self, current: int, *, required: bool) -> int:
        """The version to write over, or the matching error."""
        if self.if_match is not None and self.if_match.strip() != "*":
            tagged = _etag_version(self.if_match)
            if tagged is None:
                raise InvalidPreconditionError(
                    f'If-Match must be "*" or "v<version>" ("v{current}" now)', field="If-Match")
            if tagged != current:
                raise StalePreconditionError(
                    f"If-Match names version {tagged}; the latest is {current}")
        if self.version is not None and self.version != current:
            raise VersionConflictError(
                f"the change is based on version {self.version}; the latest is {current}",
                field="$.version",
            )
        if required and self.version is None and self.if_match is None:
            raise PreconditionRequiredError()
        return current


def _etag_version(tag: str) -> int | None:
    """The version of an ETag this API gives out (``"v3"``, ``W/"v3"``), else None."""
    text = tag.strip().removeprefix("W/").strip('"')
    return version_number(text[1:]) if text.startswith("v") else None


def version_number(text: str) -> int | None:
    """A version as a URL or header spells it: ASCII digits, 1 to 2^31-1; else None
    (without converting an overlong number: int() refuses more than 4,300 digits)."""
    if text.isascii() and text.isdigit() and len(text) <= len(str(MAX_VERSION)):
        number = int(text)
        return number if 1 <= number <= MAX_VERSION else None
    return None


class TemplateService:
    def __init__(
        self,
        *,
        quotas: Quotas,
        clock: Clock,
        evaluator: Evaluator | None = None,
        cache: ListPages | None = None,
    ):
        self.quotas = quotas
        self.clock = clock
        self.evaluator = evaluator or Evaluator()
        self.cache = cache

    # -- reading ---------------------------------------------------------------------
    def list(self, db: Session, *, user_id: uuid.UUID, query: ListQuery) -> TemplatePage:
        # A list shows summaries: the definitions (JSON of any size) stay in the database.
        visible = (
            sa.select(TemplateRecord)
            .options(defer(TemplateRecord.definition, raiseload=True))
            .where(visible_to(user_id))
        )
        if query.team_id is not None:
            if team_role(db, query.team_id, user_id) is None:
                raise NotFoundError("no such team", field="team_id")
            visible = visible.where(TemplateRecord.team_id == query.team_id)
        if query.search:
            visible = visible.where(TemplateRecord.name.icontains(query.search, autoescape=True))
        # The total rides along with the page (one round trip, not two); only a
        # page past the end, which has no row to carry it, asks for it alone.
        count = sa.select(sa.func.count()).select_from(visible.subquery())
        page = (
            visible.add_columns(count.scalar_subquery().label("total"))
            .order_by(TemplateRecord.name, TemplateRecord.id)
            .limit(query.limit + 1)
        )
        if query.cursor is not None:
            name, after = decode_cursor(query.cursor)
            page = page.where(
                sa.or_(
                    TemplateRecord.name > name,
                    sa.and_(TemplateRecord.name == name, TemplateRecord.id > after),
                )
            )
        found = db.execute(page).all()
        total = found[0].total if found else (db.scalar(count) if query.cursor else 0)
        rows = [row.TemplateRecord for row in found]
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        cursor = encode_cursor(rows[-1].name, rows[-1].id) if more else None
        return TemplatePage(
            templates=tuple(TemplateSummary.from_row(r) for r in rows),
            total=total,
            limit=query.limit,
            next_cursor=cursor,
        )

    def get(self, db: Session, *, user_id: uuid.UUID, template_id: uuid.UUID) -> TemplateView:
        return TemplateView.from_row(self._visible(db, user_id, template_id))

    def versions(
        self, db: Session, *, user_id: uuid.UUID, template_id: uuid.UUID
    ) -> list[TemplateVersionSummary]:
        row = self._visible(db, user_id, template_id)
        rows = db.scalars(
            sa.select(TemplateVersion)
            .where(TemplateVersion.template_id == row.id)
            .order_by(TemplateVersion.number)
        )
        return [TemplateVersionSummary.from_row(v) for v in rows]

    def version(
        self, db: Session, *, user_id: uuid.UUID, template_id: uuid.UUID, number: str
    ) -> TemplateVersionView:
        """Version ``number`` (as the URL spells it: digits, else 404)."""
        row = self._visible(db, user_id, template_id)
        parsed = version_number(number)
        if parsed is None:
            raise NotFoundError(f"the template has no version {number[:20]!r}")
        return TemplateVersionView.from_row(self._version_row(db, row, parsed))

    # -- writing -----------------------------------------------------------------------
    def create(self, db: Session, *, user_id: uuid.UUID, request: TemplateRequest) -> TemplateView:
        name = self._checked(db, user_id, request.name, request.definition)
        if request.team_id is not None and team_role(db, request.team_id, user_id) is None:
            raise NotFoundError("no such team", field="$.team_id")
        self.quotas.check_template_create(db, user_id=user_id, team_id=request.team_id)
        self._lists_change(db, user_id, request.team_id)
        now = self.clock()
        row = TemplateRecord(
            name=name,
            definition=request.definition,
            version=1,
            owner_id=user_id,
            team_id=request.team_id,
            created_at=now,
            updated_at=now,
        )
        db.add(row)
        db.flush()
        db.add(
            TemplateVersion(
                template_id=row.id,
                number=1,
                definition=request.definition,
                created_by=user_id,
                created_at=now,
            )
        )
        db.flush()
        return TemplateView.from_row(row)

    def update(
        self,
        db: Session,
        *,
        user_id: uuid.UUID,
        template_id: uuid.UUID,
        request: TemplateUpdateRequest,
        if_match: str | None,
    ) -> TemplateView:
        row = self._changeable(db, user_id, template_id)
        precondition = Precondition(version=request.version, if_match=if_match)
        expected = precondition.expected(row.version, required=True)
        name = self._checked(db, user_id, request.name, request.definition)
        self._lists_change(db, row.owner_id, row.team_id)
        now = self.clock()
        saved = db.execute(
            sa.update(TemplateRecord)
            .where(TemplateRecord.id == row.id, TemplateRecord.version == expected)
            .values(name=name, definition=request.definition, version=expected + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if saved.rowcount != 1:
            raise VersionConflictError("the template was saved by someone else meanwhile")
        db.add(
            TemplateVersion(
                template_id=row.id,
                number=expected + 1,
                definition=request.definition,
                created_by=user_id,
                created_at=now,
            )
        )
        db.flush()
        db.refresh(row)
        return TemplateView.from_row(row)

    def delete(
        self, db: Session, *, user_id: uuid.UUID, template_id: uuid.UUID, if_match: str | None
    ) -> None:
        row = self._changeable(db, user_id, template_id)
        Precondition(if_match=if_match).expected(row.version, required=False)
        self._lists_change(db, row.owner_id, row.team_id)
        db.delete(row)
        db.flush()

    # -- previews --------------------------------------------------------------------------
    def preview(
        self, db: Session, *, user_id: uuid.UUID, template_id: uuid.UUID, request: PreviewRequest
    ) -> PreviewView:
        row = self._visible(db, user_id, template_id)
        if request.definition is not None:  # a draft: checked as a save checks it
            problems = self._definition_problems(db, user_id, request.definition)
            if problems:
                raise InvalidDefinitionError.from_problems(problems, root="$.definition")
            number, template = row.version, self._template(request.definition)
        else:
            number, template = self._template_at(db, row, request.version)
        end_transaction(db)
        rendered, skipped = self.evaluator.preview(template, request.answers, user_id=user_id)
        files = [preview_file(f) for f in rendered]
        return PreviewView(
            template_id=row.id,
            version=number,
            files=tuple(files),
            total_bytes=sum(f.size for f in files),
            skipped=tuple(PreviewSkipped(s.path, s.reason) for s in skipped),
        )

    def form(
        self, db: Session, *, user_id: uuid.UUID, template_id: uuid.UUID, request: FormRequest
    ) -> FormView:
        row = self._visible(db, user_id, template_id)
        number, template = self._template_at(db, row, request.version)
        end_transaction(db)
        state = self.evaluator.form(template, request.answers, as_text=request.as_text,
                                    user_id=user_id)
        skipped = set(state.skipped)
        return FormView(
            template_id=row.id,
            version=number,
            questions=tuple(FormQuestion(name=v.name, applies=v.name not in skipped,
                                         value=state.values.get(v.name))
                            for v in template.variables),
            problems=tuple(FormProblem(code=p.code, message=p.message,
                                       field=_answers_path(p.path)) for p in state.problems),
        )

    # -- helpers ---------------------------------------------------------------------------
    def _visible(self, db: Session, user_id: uuid.UUID, template_id: uuid.UUID) -> TemplateRecord:
        row = db.scalar(
            sa.select(TemplateRecord).where(TemplateRecord.id == template_id, visible_to(user_id))
        )
        if row is None:
            raise NotFoundError("no such template")
        return row

    def _changeable(
        self, db: Session, user_id: uuid.UUID, template_id: uuid.UUID
    ) -> TemplateRecord:
        row = self._visible(db, user_id, template_id)
        role = team_role(db, row.team_id, user_id) if row.team_id is not None else None
        if not may_change(row, user_id, role):
            raise ForbiddenError(
                "only the template's owner and the team's owners and admins may change or delete it"
            )
        return row

    def _version_row(
        self, db: Session, row: TemplateRecord, number: int, *, field: str | None = None
    ) -> TemplateVersion:
        if not 1 <= number <= MAX_VERSION:
            raise NotFoundError(f"the template has no version {number}", field=field)
        version = db.scalar(
            sa.select(TemplateVersion).where(
                TemplateVersion.template_id == row.id, TemplateVersion.number == number
            )
        )
        if version is None:
            raise NotFoundError(f"the template has no version {number}", field=field)
        return version

    def _template_at(self, db: Session, row: TemplateRecord,
                     version: int | None) -> tuple[int, Template]:
        """The version number asked for (None: the latest) and its template."""
        number = row.version if version is None else version
        definition = (row.definition if number == row.version
                      else self._version_row(db, row, number, field="$.version").definition)
        return number, self._template(definition)

    @staticmethod
    def _template(definition: Any) -> Template:
        """A saved definition as a :class:`Template` (structure only: no template code runs)."""
        try:
            return structure_template(definition)
        except DefinitionError as exc:
            raise InvalidDefinitionError.from_problems(exc.problems, root="$.definition") from None

    def _checked(self, db: Session, user_id: uuid.UUID, name: str, definition: Any) -> str:
        """The cleaned name, once name and definition are valid; else 422 with every problem.
        Ends the request's transaction when the definition goes to the evaluator."""
        errors = list(_name_errors(name))
        problems = self._definition_problems(db, user_id, definition)
        errors += InvalidDefinitionError.from_problems(problems, root="$.definition").errors
        if problems:
            raise InvalidDefinitionError(errors=errors)
        if errors:
            raise ValidationFailedError(errors=errors)
        return name.strip()

    def _definition_problems(self, db: Session, user_id: uuid.UUID,
                             definition: Any) -> list[Problem]:
        nul = [
            Problem(
                "invalid_character",
                "text may not hold NUL characters (binary content is base64 with encoding: base64)",
                path,
            )
            for path in nul_paths(definition)
        ]
        if nul:
            return nul
        try:
            structure_template(definition)  # cheap, no template code: refuse early in-process
        except DefinitionError as exc:
            return list(exc.problems)
        end_transaction(db)
        return self.evaluator.definition_problems(definition, user_id=user_id)

    def _lists_change(self, db: Session, owner_id: uuid.UUID, team_id: uuid.UUID | None) -> None:
        """Before a write: the owner's lists and, for a team's template, every member's
        change (the team is locked until the write commits, so nobody joins unseen)."""
        if self.cache is not None:
            members = member_ids(db, [team_id]) if team_id is not None else set()
            self.cache.lists_changed(db, {owner_id, *members})


def _answers_path(path: str | None) -> str:
    """A core problem's path (``$.name``) under the request's ``$.answers``."""
    return "$.answers" + (path[1:] if path and path.startswith("$") else "")


def _name_errors(name: str) -> list[FieldError]:
    if not 1 <= len(name.strip()) <= NAME_MAX:
        return [FieldError("invalid_value", f"a name has 1 to {NAME_MAX} characters", "$.name")]
    if "\x00" in name:
        return [FieldError("invalid_character", "a name may not hold NUL characters", "$.name")]
    return []


def nul_paths(data: Any) -> list[str]:
    """JSON paths of the strings (values or keys) in ``data`` holding a NUL character,
    which PostgreSQL cannot store in JSON; iterative, so any nesting depth is fine."""
    found, stack = [], [("$", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str) and "\x00" in value:
            found.append(path)
        elif isinstance(value, dict):
            for key, item in value.items():
                stack.append((f"{path}.{key}", item))
                if "\x00" in key:
                    found.append(f"{path}.{key}")
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
    return sorted(found)


def encode_cursor(name: str, after: uuid.UUID) -> str:
    raw = json.dumps([name, str(after)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, uuid.UUID]:
    """The (name, id) a page ends at, from a cursor :func:`encode_cursor` made; 422
    ``invalid_cursor`` for anything else (strict JSON: no value it could not hold)."""
    try:
        if len(cursor) > CURSOR_MAX:
            raise ValueError("too long")
        name, after = strict_json.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(name, str):
            raise TypeError("not a name")
        return name, uuid.UUID(after)
    except (binascii.Error, ValueError, TypeError, AttributeError, LaunchpadError):
        raise ValidationFailedError.one(
            "invalid_cursor", "not a cursor this API gave out", "cursor"
        ) from None
