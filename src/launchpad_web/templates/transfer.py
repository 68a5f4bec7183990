"""Templates in and out as zips, and what changed between two versions.

Importing unpacks and reads the uploaded template directory only through the
:class:`~launchpad_web.evaluation.Evaluator` (a Copier or Cookiecutter importer
renders parts of its configuration); the definition comes back unsaved, for the
builder or the client to save like any other. Exporting and diffing read stored
definitions only: no template code runs. Access is :class:`TemplateService`'s.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy.orm import Session

from launchpad_core.sources.zips import definition_zip

from ..db import end_transaction
from ..errors import ValidationFailedError
from ..evaluation import Evaluator
from .diffs import definition_diff
from .schemas import ImportedTemplateView, VersionDiffView
from .services import TemplateService, version_number

_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class TemplateTransfer:
    def __init__(self, *, templates: TemplateService, evaluator: Evaluator):
        self.templates = templates
        self.evaluator = evaluator

    def import_zip(self, db: Session, *, user_id: uuid.UUID, archive: bytes,
                   format: str | None) -> ImportedTemplateView:
        end_transaction(db)
        definition = self.evaluator.imported(archive, format, user_id=user_id)
        origin = definition.get("settings", {}).get("origin", {})
        return ImportedTemplateView(format=origin.get("format"), definition=definition,
                                    skipped_tasks=tuple(origin.get("skipped_tasks", ())),
                                    warnings=tuple(origin.get("warnings", ())))

    def export_zip(self, db: Session, *, user_id: uuid.UUID, template_id: uuid.UUID,
                   version: str | None) -> tuple[str, bytes]:
        """A file name and the zip of the template (its latest version, or ``version``)."""
        view = self.templates.get(db, user_id=user_id, template_id=template_id)
        definition = view.definition if version is None else self.templates.version(
            db, user_id=user_id, template_id=template_id, number=version).definition
        number = view.version if version is None else version
        stem = _UNSAFE_IN_FILENAME.sub("-", view.name).strip("-.") or "template"
        return f"{stem}-v{number}.zip", definition_zip(definition)

    def diff(self, db: Session, *, user_id: uuid.UUID, template_id: uuid.UUID,
             from_version: str | None, to_version: str | None) -> VersionDiffView:
        self.templates.get(db, user_id=user_id, template_id=template_id)  # 404 before 422
        numbers = {name: _number(text, name) for name, text in
                   (("from", from_version), ("to", to_version))}
        old, new = (self.templates.version(db, user_id=user_id, template_id=template_id,
                                           number=str(numbers[name])) for name in ("from", "to"))
        return VersionDiffView(template_id=template_id, from_version=old.number,
                               to_version=new.number,
                               files=definition_diff(old.definition, new.definition))


def _number(text: str | None, name: str) -> int:
    number = version_number(text or "")
    if number is None:
        raise ValidationFailedError.one("invalid_value", f"{name} is a version number", name)
    return number
