"""``cookiecutter.json`` as LaunchPad variables, in the order Cookiecutter resolves them.

Cookiecutter renders every value (numbers become strings), takes the first
option of a list as the default choice, keeps ``_x`` values as they are and
renders ``__x`` ones without asking; dictionaries come in a second pass, after
every other value. Private values become hidden variables (``when: false``)
so that later defaults and the files can use them as ``cookiecutter._x``.
Dictionaries have a type of their own: a given dictionary is merged into the
default one (:data:`DICT_TYPE`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..errors import LoadError
from ..model.strict_json import loads_answer
from ..model.template import NAME_PATTERN, Choice, EnvOptions, Variable
from ..model.variables import VariableType
from .jinja_text import captured, expression, has_markup, literal

_NAME = re.compile(NAME_PATTERN)
_YES = frozenset({"1", "true", "t", "yes", "y", "on"})
_NO = frozenset({"0", "false", "f", "no", "n", "off"})
_MISSING = object()


def static_render(value: Any) -> Any:
    """What Cookiecutter's ``render_variable`` makes of a value without markup."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, dict):
        return {str(k): static_render(v) for k, v in value.items()}
    if isinstance(value, list):
        return [static_render(v) for v in value]
    return str(value)


def _coerce_dict(value: Any, _var: Variable, from_text: bool) -> dict[str, Any]:
    if from_text and isinstance(value, str):
        value = loads_answer(value)
    if not isinstance(value, dict):
        raise ValueError("expected an object (a dictionary)")
    return value


def _overwritten(current: Any, given: Any) -> Any:
    """One value as ``apply_overwrites_to_context`` leaves it inside a dictionary."""
    if isinstance(current, dict) and isinstance(given, dict):
        merged = {k: _overwritten(current.get(k, _MISSING), v) for k, v in given.items()}
        return {**current, **merged}
    if isinstance(current, bool) and isinstance(given, str):
        word = given.strip().lower()
        if word not in _YES | _NO:
            raise ValueError(f"{given!r} could not be converted to a boolean")
        return word in _YES
    return given


def merge_dict(given: dict[str, Any], default: dict[str, Any]) -> dict[str, Any]:
    """Cookiecutter's answer for a dictionary: the given one merged into the (rendered)
    default, nested dictionaries key by key, then rendered (numbers become strings)."""
    return static_render(_overwritten(default, given))


#: A ``cookiecutter.json`` dictionary: an object whose given answer is merged into the default.
DICT_TYPE = VariableType("cookiecutter_dict", _coerce_dict, {"type": "object"}, merge=merge_dict)


def _has_markup_inside(value: Any, envops: EnvOptions) -> bool:
    if isinstance(value, str):
        return has_markup(value, envops)
    if isinstance(value, dict):
        return any(_has_markup_inside(x, envops) for pair in value.items() for x in pair)
    if isinstance(value, list):
        return any(_has_markup_inside(x, envops) for x in value)
    return False


def json_template(value: Any, envops: EnvOptions) -> str:
    """Jinja source rendering to the JSON of ``value`` with each of its strings rendered."""
    blocks: list[str] = []

    def text(item: str) -> str:
        if not has_markup(item, envops):
            return json.dumps(item)
        name = f"_lp_value_{len(blocks)}"
        blocks.append(captured(name, item, envops))
        return expression(f"{name} | tojson", envops)

    def write(item: Any) -> str:
        if isinstance(item, dict):
            return "{ " + ", ".join(f"{text(str(k))}: {write(v)}" for k, v in item.items()) + " }"
        if isinstance(item, list):
            return "[ " + ", ".join(write(v) for v in item) + " ]"
        if item is None or isinstance(item, bool):
            return json.dumps(item)
        return text(item if isinstance(item, str) else str(item))

    body = write(value)
    return "".join(blocks) + body


def _rendered(name: str, raw: Any, envops: EnvOptions, **fields: Any) -> Variable:
    """A variable whose value is ``raw`` rendered as Cookiecutter renders it."""
    if isinstance(raw, bool):
        return Variable(name=name, type="bool", default=raw, **fields)
    if isinstance(raw, dict | list):
        templated = _has_markup_inside(raw, envops)
        default = json_template(raw, envops) if templated else static_render(raw)
        kind = DICT_TYPE.name if isinstance(raw, dict) else "json"
        return Variable(name=name, type=kind, default=default, **fields)
    if raw is None:
        return Variable(name=name, type="json", default=None, **{**fields, "when": False})
    return Variable(name=name, type="str", default=static_render(raw), **fields)


def _private(name: str, raw: Any, envops: EnvOptions) -> Variable:
    """An ``_x`` value: never rendered, never asked."""
    if isinstance(raw, str):
        return Variable(name=name, type="str", default=literal(raw, envops), when=False)
    return Variable(name=name, type="json", default=raw, when=False)


def _help(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Mapping):
        return str(prompt.get("__prompt__", ""))
    return ""


def _choice(name: str, options: list[Any], prompt: Any, envops: EnvOptions) -> Variable:
    if not options:
        raise LoadError(f"{name!r} is a choice with no options")
    if _has_markup_inside(options, envops):
        # Templated options: the first (rendered) is the default; the rest cannot be listed.
        return _rendered(name, options[0], envops, help=_help(prompt))
    labels = prompt if isinstance(prompt, Mapping) else {}
    values = [static_render(o) for o in options]
    choices = tuple(
        Choice(value=v, label=str(labels[v]) if isinstance(v, str) and v in labels else None)
        for v in values
    )
    return Variable(
        name=name, type="choice", help=_help(prompt), default=values[0], choices=choices
    )


def to_variables(context: Mapping[str, Any], envops: EnvOptions) -> list[Variable]:
    """Every entry of ``cookiecutter.json`` (but ``__prompts__``) as a variable."""
    prompts = context.get("__prompts__", {})
    if not isinstance(prompts, Mapping):
        prompts = {}
    first: list[Variable] = []
    dictionaries: list[Variable] = []
    for name, raw in context.items():
        if name == "__prompts__":
            continue
        if not _NAME.match(name):
            raise LoadError(f"{name!r} is not a variable name LaunchPad supports (a-z, 0-9, _)")
        hidden = name.startswith("__")
        if name.startswith("_") and not hidden:
            first.append(_private(name, raw, envops))
        elif isinstance(raw, dict):
            fields = {"when": False} if hidden else {"help": _help(prompts.get(name))}
            dictionaries.append(_rendered(name, raw, envops, **fields))
        elif hidden:
            first.append(_rendered(name, raw, envops, when=False))
        elif isinstance(raw, list):
            first.append(_choice(name, raw, prompts.get(name), envops))
        else:
            first.append(_rendered(name, raw, envops, help=_help(prompts.get(name))))
    return first + dictionaries
