"""Reading HTML forms: the fields, and a generate form's answers as typed values.

A form sends text. Answers are turned into typed values by each variable type's
own ``coerce(value, variable, from_text=True)`` (the core's rule, as on the CLI);
the answers are then checked by the same :class:`~launchpad_web.jobs.services.JobService`
the API uses. A field left empty is not an answer: the variable's default applies (the core
computes it), or the core answers ``required``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import falcon

from launchpad_core.model.template import Template, Variable
from launchpad_core.model.variables import VariableType

from ..errors import (
    ApiError,
    FieldError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    ValidationFailedError,
)

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
ANSWER_PREFIX = "answers."


class InvalidFormError(ApiError):
    code = "invalid_form"
    title = "The form could not be read"


class Form:
    """The fields of a posted form; a repeated field has several values."""

    def __init__(self, fields: Mapping[str, Any]):
        self.fields = {k: v if isinstance(v, list) else [v] for k, v in fields.items()}

    @classmethod
    def read(cls, req: falcon.Request) -> Form:
        media_type = (req.content_type or "").partition(";")[0].strip().lower()
        if media_type != FORM_MEDIA_TYPE:
            raise UnsupportedMediaTypeError(f"expected {FORM_MEDIA_TYPE}, got "
                                            f"{media_type or 'no Content-Type'}")
        limit = req.context.max_body_bytes
        raw = req.bounded_stream.read(limit + 1)
        if len(raw) > limit:
            raise PayloadTooLargeError(f"at most {limit} bytes are accepted")
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            raise InvalidFormError("the form is not UTF-8") from None
        form = cls(falcon.uri.parse_query_string(text, keep_blank=True, csv=False))
        if nul := [n for n, values in form.fields.items() if any("\x00" in v for v in values)]:
            # as in a JSON body: PostgreSQL cannot store it, and nothing typed holds one
            raise ValidationFailedError(errors=[FieldError(
                "invalid_character", "text may not hold NUL characters", f"$.{name}")
                for name in nul])
        return form

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[-1] if values else default

    def getall(self, name: str) -> list[str]:
        return self.fields.get(name, [])

    def answers_text(self) -> dict[str, Any]:
        """What was typed, to fill the form again after an error."""
        return {name.removeprefix(ANSWER_PREFIX): values
                for name, values in self.fields.items() if name.startswith(ANSWER_PREFIX)}


def typed_answers(template: Template, form: Form,
                  types: Mapping[str, VariableType]) -> dict[str, Any]:
    """The answers of ``form`` coerced by their variables' types; 422 at each field."""
    answers: dict[str, Any] = {}
    errors: list[FieldError] = []
    for var in template.variables:
        raw = _raw(var, form)
        if raw is None:
            continue
        try:
            answers[var.name] = types[var.type].coerce(raw, var, True)
        except ValueError as exc:
            errors.append(FieldError("invalid_type", str(exc), f"$.answers.{var.name}"))
    if errors:
        raise ValidationFailedError("The answers are not valid.", errors=errors)
    return answers


def _raw(var: Variable, form: Form) -> Any:
    """The text sent for ``var``; None when left empty (the default applies)."""
    name = ANSWER_PREFIX + var.name
    if var.type == "bool":
        return "true" if form.get(name) else "false"
    if var.type == "multichoice":
        return form.getall(name)
    text = form.get(name)
    return None if text == "" else text
