"""Variable types: how an answer is coerced, shown and described in JSON Schema.

The built-in types are registered by :mod:`launchpad_core.plugins.default_types`
through the ``launchpad_variable_types`` hook, like any plugin's types.
Answers arrive either as text (``-d key=value`` on the CLI, a prompt) or as
JSON (the HTTP API); ``coerce`` receives which.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import attrs

from .strict_json import loads_answer
from .template import Variable

Coerce = Callable[[Any, Variable, bool], Any]
#: (given answer, default) -> the answer: how a given answer combines with the default.
Merge = Callable[[Any, Any], Any]

TRUE_WORDS = frozenset({"y", "yes", "true", "on", "1"})
FALSE_WORDS = frozenset({"n", "no", "false", "off", "0", ""})


@attrs.frozen
class VariableType:
    """A named type of variable.

    ``coerce(value, variable, from_text)`` returns the typed answer or raises
    ``ValueError`` with a message a person understands. ``merge(answer,
    default)``, if set, combines a given (coerced) answer with the variable's
    default (rendered and coerced), e.g. a dictionary merged into the default one.
    """

    name: str
    coerce: Coerce
    json_schema: dict[str, Any] = attrs.field(factory=dict)
    needs_choices: bool = False
    merge: Merge | None = None

    def to_text(self, value: Any) -> str:
        """How an answer is shown as a default in a prompt."""
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, list | dict):
            return json.dumps(value)
        return "" if value is None else str(value)


def parse_bool_text(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{text!r} is not yes/no (use yes, no, true, false, 1 or 0)")


def _coerce_str(value: Any, _var: Variable, _from_text: bool) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"expected a string, got {_json_type(value)}")


def _coerce_int(value: Any, _var: Variable, from_text: bool) -> int:
    if from_text and isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number") from None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f"expected an integer, got {_json_type(value)}")


def _coerce_float(value: Any, _var: Variable, from_text: bool) -> float:
    if from_text and isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        raise ValueError(f"expected a number, got {_json_type(value)}")
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def _coerce_bool(value: Any, _var: Variable, from_text: bool) -> bool:
    if isinstance(value, bool):
        return value
    if from_text and isinstance(value, str):
        return parse_bool_text(value)
    raise ValueError(f"expected true or false, got {_json_type(value)}")


def _match_choice(value: Any, var: Variable, from_text: bool) -> Any:
    for choice in var.choices:
        if value == choice.value and type(value) is type(choice.value):
            return choice.value
    if from_text and isinstance(value, str):
        for choice in var.choices:
            if value in (str(choice.value), choice.label):
                return choice.value
    allowed = ", ".join(repr(c.value) for c in var.choices)
    raise ValueError(f"{value!r} is not one of the choices ({allowed})")


def _coerce_choice(value: Any, var: Variable, from_text: bool) -> Any:
    return _match_choice(value, var, from_text)


def _coerce_multichoice(value: Any, var: Variable, from_text: bool) -> list[Any]:
    if from_text and isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            value = loads_answer(text)
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, list):
        raise ValueError(f"expected a list of choices, got {_json_type(value)}")
    picked = [_match_choice(item, var, from_text) for item in value]
    # Keep the template's order and drop repeats, like a checkbox list.
    order = [c.value for c in var.choices]
    return [v for v in order if v in picked]


def _coerce_json(value: Any, _var: Variable, from_text: bool) -> Any:
    if from_text and isinstance(value, str):
        return loads_answer(value)
    return value




def _json_type(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return names.get(type(value), type(value).__name__)


BUILTIN_VARIABLE_TYPES = (
    VariableType("str", _coerce_str, {"type": "string"}),
    VariableType("int", _coerce_int, {"type": "integer"}),
    VariableType("float", _coerce_float, {"type": "number"}),
    VariableType("bool", _coerce_bool, {"type": "boolean"}),
    VariableType("choice", _coerce_choice, {}, needs_choices=True),
    VariableType("multichoice", _coerce_multichoice, {"type": "array"}, needs_choices=True),
    VariableType("json", _coerce_json, {}),
)
