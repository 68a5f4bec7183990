"""Copier questions as LaunchPad variables, with Copier's casting rules.

A question's type is given or inferred from its default (anything but
str/int/float/bool is YAML); static defaults and choices are cast here the way
Copier casts answers, templated ones are left to the answers step. Copier's
``yaml`` and ``path`` types are contributed as variable types of their own.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import LoadError
from ..model.template import Choice, EnvOptions, Variable
from ..model.variables import VariableType
from .jinja_text import has_markup, literal

if TYPE_CHECKING:
    import yaml

COPIER_TYPES = ("bool", "float", "int", "json", "str", "yaml", "path")
_RESERVED = frozenset({"now", "make_secret"})
_FALSE_WORDS = frozenset({"n", "no", "f", "false", "off", "~", "null", "none"})


def cast_to_bool(value: Any) -> bool:
    """Copier's reading of anything as a boolean."""
    try:
        return bool(float(value))
    except (TypeError, ValueError):
        pass
    if isinstance(value, str):
        lower = value.strip().lower()
        if lower in {"y", "yes", "t", "true", "on"}:
            return True
        if not lower or lower in _FALSE_WORDS:
            return False
    return bool(value)


def cast_to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float | int):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return value.decode()
    from decimal import Decimal  # only an unusual value gets here: start-up does without

    if isinstance(value, Decimal):
        return str(value)
    raise ValueError(f"could not convert {value!r} to a string")


# YAML is imported on first use: rendering a cached import rarely needs it.
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


@functools.cache
def _plain_loader() -> type[yaml.SafeLoader]:
    """YAML without timestamps: dates stay text, since answers are plain JSON data."""
    import yaml

    class PlainLoader(yaml.SafeLoader):
        yaml_implicit_resolvers = {
            first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP_TAG]
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }

    return PlainLoader


@functools.cache
def _timestamp() -> re.Pattern[str]:
    import yaml

    return next(
        rx
        for resolvers in yaml.SafeLoader.yaml_implicit_resolvers.values()
        for tag, rx in resolvers
        if tag == _TIMESTAMP_TAG
    )


def is_yaml_timestamp(value: Any) -> bool:
    """Whether Copier would have read this YAML answer as a date (which it never records)."""
    return isinstance(value, str) and _timestamp().fullmatch(value) is not None


def load_yaml(text: str) -> Any:
    import yaml

    return yaml.load(text, Loader=_plain_loader())


def _parse_text(parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    return lambda value: parse(value) if isinstance(value, str) else value


CASTS: Mapping[str, Callable[[Any], Any]] = {
    "bool": cast_to_bool,
    "float": float,
    "int": int,
    "json": _parse_text(json.loads),
    "str": cast_to_str,
    "yaml": _parse_text(load_yaml),
    "path": str,
}


def _coerce_yaml(value: Any, _var: Variable, from_text: bool) -> Any:
    import yaml

    if from_text and isinstance(value, str):
        try:
            return load_yaml(value)
        except yaml.YAMLError as exc:
            raise ValueError(f"not valid YAML: {exc}") from None
    return value


def _coerce_path(value: Any, _var: Variable, _from_text: bool) -> str:
    if isinstance(value, str):
        return value
    raise ValueError("expected a path as a string")


COPIER_VARIABLE_TYPES = (
    VariableType("yaml", _coerce_yaml, {}),
    VariableType("path", _coerce_path, {"type": "string"}),
)


def copier_type(name: str, question: Mapping[str, Any], envops: EnvOptions) -> str:
    """The question's Copier type, given or inferred as Copier infers it."""
    given = question.get("type", "")
    if not isinstance(given, str) or has_markup(given, envops):
        raise LoadError(f"question {name!r}: a templated type is not supported")
    if given:
        if given not in COPIER_TYPES:
            raise LoadError(f"question {name!r}: unsupported type {given!r}")
        return given
    inferred = type(question["default"]).__name__ if "default" in question else ""
    return inferred if inferred in COPIER_TYPES else "yaml"


def to_variable(name: str, question: Mapping[str, Any], envops: EnvOptions) -> Variable:
    """One Copier question as a variable; raise LoadError for what cannot be expressed."""
    if name in _RESERVED:
        raise LoadError(f"{name!r} is not a valid Copier question name")
    kind = copier_type(name, question, envops)
    cast = CASTS[kind]
    multiselect = bool(question.get("multiselect", False))
    choices = _choices(name, question.get("choices", ()), cast, envops)
    if choices:
        lp_type = "multichoice" if multiselect else "choice"
    else:
        lp_type = {"json": "json", "yaml": "yaml", "path": "path"}.get(kind, kind)
    default = _default(name, question, kind, multiselect, envops)
    if question.get("secret") and "default" not in question:
        raise LoadError(f"secret question {name!r} needs a default, as in Copier")
    return Variable(
        name=name,
        type=lp_type,
        help=str(question.get("help", "") or ""),
        default=default,
        choices=choices,
        validator=str(question["validator"]) if question.get("validator") else None,
        when=condition(question.get("when", True), envops),
        secret=bool(question.get("secret", False)),
    )


def condition(when: Any, envops: EnvOptions) -> bool | str:
    """A ``when``: Jinja source kept for the render, anything else read as Copier reads it."""
    if isinstance(when, str) and has_markup(when, envops):
        return when
    return cast_to_bool(when)


def _default(
    name: str, question: Mapping[str, Any], kind: str, multiselect: bool, envops: EnvOptions
) -> Any:
    if question.get("default") is None:
        return None
    default = question["default"]
    if isinstance(default, str) and has_markup(default, envops):
        return default
    import yaml

    try:
        if multiselect:
            items = load_yaml(default) if isinstance(default, str) else default
            return [CASTS[kind](item) for item in items or ()]
        value = CASTS[kind](default)
    except (TypeError, ValueError, yaml.YAMLError) as exc:
        raise LoadError(f"question {name!r}: the default does not fit type {kind}: {exc}") from None
    if isinstance(value, str) and kind in ("json", "yaml"):
        # A string answer of a JSON/YAML question: keep it as JSON text, which the
        # answers step parses back to the same string.
        return literal(json.dumps(value), envops)
    if isinstance(value, str):
        return literal(value, envops)
    return value


def _choice_pairs(choices: Any) -> list[tuple[Any, Any]]:
    if isinstance(choices, dict):
        return list(choices.items())
    pairs = []
    for choice in choices:
        if isinstance(choice, list | tuple) and len(choice) == 2:
            pairs.append((choice[0], choice[1]))
        else:
            pairs.append((choice, choice))
    return pairs


def _choices(
    name: str, choices: Any, cast: Callable[[Any], Any], envops: EnvOptions
) -> tuple[Choice, ...]:
    if isinstance(choices, str):
        if has_markup(choices, envops):
            raise LoadError(f"question {name!r}: templated choices are not supported")
        choices = load_yaml(choices) or ()
    result = []
    for label, raw in _choice_pairs(choices):
        value = raw
        if isinstance(raw, dict):
            if "value" not in raw:
                raise LoadError(f"question {name!r}: a choice needs a 'value'")
            if raw.get("validator") and not has_markup(str(raw["validator"]), envops):
                continue  # always disabled
            value = raw["value"]
        if isinstance(value, str) and has_markup(value, envops):
            raise LoadError(f"question {name!r}: templated choice values are not supported")
        try:
            value = cast(value)
        except (TypeError, ValueError) as exc:
            raise LoadError(f"question {name!r}: choice {value!r} does not fit: {exc}") from None
        text = str(label)
        result.append(Choice(value=value, label=None if text == str(value) else text))
    return tuple(result)
