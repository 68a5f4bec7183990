"""The web service's one cattrs converter: request bodies in, value objects out.

It starts as a copy of the core's strict converter (no string silently becomes a
bool, unknown keys are errors) and adds the web's field types. Structuring errors
become a 422 :class:`ValidationFailedError` listing each field by JSON path.
"""

from __future__ import annotations

import enum
import functools
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any, NewType, TypeVar

import cattrs

from launchpad_core.model.serialization import make_converter as make_core_converter
from launchpad_core.model.serialization import structure_errors

from .emails import Email, normalize_email
from .errors import FieldError, ValidationFailedError

T = TypeVar("T")


def _structure_email(value: Any, _type: Any) -> Email:
    if not isinstance(value, str):
        raise TypeError(f"expected string, got {type(value).__name__}")
    return normalize_email(value)


def _structure_str_enum(value: Any, type_: type[enum.StrEnum]) -> enum.StrEnum:
    # Registered for StrEnum, which comes before str in its MRO: the core's strict
    # str hook would otherwise accept any string for an enum-typed field.
    if not isinstance(value, str):
        raise TypeError(f"expected string, got {type(value).__name__}")
    try:
        return type_(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in type_)
        raise ValueError(f"expected one of {allowed}") from None


def _structure_uuid(value: Any, _type: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise TypeError(f"expected string, got {type(value).__name__}")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValueError("expected a UUID") from None


#: A template version number as a request gives it (the columns are 32-bit integers).
VersionNumber = NewType("VersionNumber", int)
MAX_VERSION = 2**31 - 1


def _structure_version(value: Any, _type: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected integer, got {type(value).__name__}")
    if not 1 <= value <= MAX_VERSION:
        raise ValueError(f"a version is a whole number from 1 to {MAX_VERSION}")
    return value


@functools.cache
def make_converter() -> cattrs.Converter:
    conv = make_core_converter().copy(omit_if_default=False, forbid_extra_keys=True)
    conv.register_structure_hook(Email, _structure_email)
    conv.register_structure_hook(enum.StrEnum, _structure_str_enum)
    conv.register_structure_hook(uuid.UUID, _structure_uuid)
    conv.register_structure_hook(VersionNumber, _structure_version)
    conv.register_unstructure_hook(uuid.UUID, str)
    conv.register_unstructure_hook(datetime, datetime.isoformat)
    return conv


def structure(data: Any, cls: type[T]) -> T:
    """``data`` (parsed JSON) as ``cls``, or :class:`ValidationFailedError` naming each field."""
    if not isinstance(data, dict):
        raise ValidationFailedError.one("invalid_type", "expected a JSON object", "$")
    try:
        return make_converter().structure(data, cls)
    except Exception as exc:  # cattrs groups every failure in one exception
        raise ValidationFailedError(errors=list(field_errors(exc))) from None


def unstructure(value: Any) -> Any:
    return make_converter().unstructure(value)


def field_errors(exc: BaseException, path: str = "$") -> Iterator[FieldError]:
    """Each failing field (the core's one walker over cattrs' errors)."""
    for found in structure_errors(exc, path):
        yield FieldError(found.code, found.message, found.path)
