"""The one cattrs converter between JSON-like data and the definition classes.

Strict on purpose: definitions come from untrusted users, so a string is never
silently turned into a bool, unknown keys are errors, and every structuring
error is reported with its JSON path (``... @ $.files[3].path``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any, get_args, get_origin

import cattrs
from cattrs.cols import homogenous_tuple_structure_factory
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.strategies import configure_union_passthrough
from cattrs.v import format_exception

from ..errors import DefinitionError, Problem
from .template import Choice, EnvOptions, FileSpec, Settings, Template, Variable

_CLASSES = (Choice, Variable, FileSpec, EnvOptions, Settings, Template)


def _strict(kind: type, name: str):
    def structure(value: Any, _type: Any) -> Any:
        # bool is an int subclass: refuse it where a number is wanted.
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise TypeError(f"expected {name}, got {type(value).__name__}")
        return value

    return structure


def _structure_float(value: Any, _type: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected number, got {type(value).__name__}")
    return float(value)


def _is_array(type_: Any) -> bool:
    return get_origin(type_) is tuple and get_args(type_)[1:] == (...,)


def _array_hook(type_: Any, conv: cattrs.Converter) -> Any:
    """Arrays are JSON lists: a string is not a list of its characters (exclude: "*.pyc")."""
    items = homogenous_tuple_structure_factory(type_, conv)

    def structure(value: Any, _type: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected list, got {type(value).__name__}")
        return items(value, _type)

    return structure


def _structure_mode(value: Any, _type: Any) -> int | None:
    """File modes as an int (493) or an octal string ('0755', '755', '0o755')."""
    if value is None:
        return None
    if isinstance(value, str):
        digits = value.lower().removeprefix("0o")
        if not digits or any(c not in "01234567" for c in digits):
            raise ValueError(f"mode {value!r} is not an octal number")
        value = int(digits, 8)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("mode must be an octal string or an integer")
    if not 0 <= value <= 0o7777:
        raise ValueError("mode must be between 0 and 0o7777")
    return value


def _structure_choice(value: Any, _type: Any) -> Choice:
    if isinstance(value, dict):
        extra = set(value) - {"value", "label"}
        if extra or "value" not in value:
            raise ValueError("a choice object has 'value' and optionally 'label'")
        label = value.get("label")
        if label is not None and not isinstance(label, str):
            raise TypeError("a choice label must be a string")
        return Choice(value=value["value"], label=label)
    return Choice(value=value)


def _unstructure_choice(choice: Choice) -> Any:
    if choice.label is None and not isinstance(choice.value, dict):
        return choice.value
    return {"value": choice.value, "label": choice.label}


@functools.cache
def make_converter() -> cattrs.Converter:
    """Build the converter once; it is immutable after configuration."""
    conv = cattrs.Converter(forbid_extra_keys=True, omit_if_default=True)
    configure_union_passthrough(str | bool | int | float | None, conv)
    conv.register_structure_hook(str, _strict(str, "string"))
    conv.register_structure_hook(bool, _strict(bool, "boolean"))
    conv.register_structure_hook(int, _strict(int, "integer"))
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook_factory(_is_array, _array_hook)
    conv.register_structure_hook(Choice, _structure_choice)
    conv.register_unstructure_hook(Choice, _unstructure_choice)
    conv.register_structure_hook(
        FileSpec,
        make_dict_structure_fn(
            FileSpec,
            conv,
            _cattrs_forbid_extra_keys=True,
            mode=override(struct_hook=_structure_mode),
        ),
    )
    conv.register_unstructure_hook(
        FileSpec,
        make_dict_unstructure_fn(
            FileSpec,
            conv,
            _cattrs_omit_if_default=True,
            mode=override(unstruct_hook=lambda m: None if m is None else f"{m:04o}"),
        ),
    )
    schema = override(rename="$schema")
    conv.register_structure_hook(
        Template,
        make_dict_structure_fn(Template, conv, _cattrs_forbid_extra_keys=True, schema=schema),
    )
    conv.register_unstructure_hook(
        Template,
        make_dict_unstructure_fn(Template, conv, _cattrs_omit_if_default=True, schema=schema),
    )
    return conv


def structure_template(data: Any) -> Template:
    """JSON-like data to a :class:`Template`, or :class:`DefinitionError` with every problem."""
    if not isinstance(data, dict):
        raise DefinitionError(
            "The definition is not valid.",
            [Problem("type", "a template definition is a JSON object", "$")],
        )
    try:
        return make_converter().structure(data, Template)
    except Exception as exc:  # cattrs groups every failure in one exception
        raise DefinitionError("The definition is not valid.", _problems(exc)) from None


def unstructure_template(template: Template) -> dict[str, Any]:
    """A :class:`Template` to JSON-ready data (defaults omitted)."""
    data = make_converter().unstructure(template)
    data.setdefault("name", template.name)
    return data


def structure_errors(exc: BaseException, path: str = "$",
                     type_: Any = None) -> Iterator[Problem]:
    """Every failing field in what cattrs raised (it groups failures in exception groups),
    as a :class:`Problem` at its JSON path: ``unknown_field`` at ``$.obj.field`` (one per
    field), ``missing_field``, ``invalid_type`` or ``invalid_value``. The one walker over
    cattrs' errors: definitions (:func:`structure_template`) and the web API's request
    bodies both read them through it."""
    if isinstance(exc, ClassValidationError | IterableValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            where = (f"{path}.{note.name}" if isinstance(exc, ClassValidationError)
                     else f"{path}[{note.index!r}]")
            yield from structure_errors(sub, where, note.type)
        for sub in without:
            yield from structure_errors(sub, path, type_)
    elif isinstance(exc, ForbiddenExtraKeysError):
        for name in sorted(exc.extra_fields):
            yield Problem("unknown_field", f"unknown or forbidden field {name!r}",
                          f"{path}.{name}")
    elif isinstance(exc, KeyError):
        yield Problem("missing_field", "this field is required", path)
    else:
        code = "invalid_type" if isinstance(exc, TypeError) else "invalid_value"
        yield Problem(code, _message(exc, type_), path)


def _message(exc: BaseException, type_: Any) -> str:
    """Our own hooks raise messages meant for people: kept; cattrs' own are reworded."""
    message = exc.args[0] if isinstance(exc, TypeError | ValueError) and exc.args else None
    if isinstance(message, str) and message and not message.startswith("invalid literal"):
        return message
    return format_exception(exc, type_)


def _problems(exc: BaseException) -> list[Problem]:
    """A definition's problems, under the definition's own code ``structure``."""
    return [Problem("structure", found.message, found.path) for found in structure_errors(exc)]
