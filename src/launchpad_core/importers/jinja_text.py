"""Jinja source text as the foreign tools see it: markup, newlines, literals.

The engine leaves text without Jinja markup untouched, while Copier and
Cookiecutter pass every template file through Jinja, which turns each
``\\r\\n`` and ``\\r`` into ``\\n`` (and may drop a trailing newline). The
importers apply that here, once, so the output bytes agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ..errors import LoadError
from ..model.template import EnvOptions

_NEWLINE = re.compile(r"\r\n|\r|\n")


def has_markup(text: str, envops: EnvOptions) -> bool:
    """Whether Jinja would find anything but plain data in ``text``."""
    return any(marker in text for marker in envops.markers)


def as_jinja_reads(text: str, envops: EnvOptions) -> str:
    """``text`` with newlines as Jinja's lexer leaves them (for text without markup, the output)."""
    normalized = _NEWLINE.sub("\n", text)
    if not envops.keep_trailing_newline and not has_markup(text, envops):
        normalized = normalized.removesuffix("\n")
    return normalized


def string_literal(text: str) -> str:
    """A Jinja string literal whose value is exactly ``text``."""
    escaped = text.encode("unicode-escape").decode("ascii").replace("'", "\\'")
    return f"'{escaped}'"


def literal(text: str, envops: EnvOptions) -> str:
    """Jinja source that renders to exactly ``text`` (``text`` itself when it has no markup)."""
    if not has_markup(text, envops):
        return text
    return f"{envops.variable_start_string} {string_literal(text)} {envops.variable_end_string}"


def captured(name: str, source: str, envops: EnvOptions) -> str:
    """A ``{% set name %}source{% endset %}`` block, immune to trim and lstrip options."""
    start, end = envops.block_start_string, envops.block_end_string
    return f"{start} set {name} +{end}{source}{start}+ endset +{end}"


def expression(text: str, envops: EnvOptions) -> str:
    """Output the Jinja expression ``text``."""
    return f"{envops.variable_start_string} {text} {envops.variable_end_string}"


def data_expression(value: object, string: Callable[[str], str] = string_literal) -> str:
    """A Jinja expression for plain JSON data; ``string`` writes each string in it."""
    if isinstance(value, str):
        return string(value)
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "none"}[value]
    if isinstance(value, list | tuple):
        return "[" + ", ".join(data_expression(v, string) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{string(str(k))}: {data_expression(v, string)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    return json.dumps(value)


_SYNTAX_FIELDS = frozenset(f.name for f in attrs.fields(EnvOptions)) - {"strict_undefined"}
_UNDEFINED = {"jinja2.Undefined": False, "jinja2.StrictUndefined": True}
# Options that leave the output as the engine makes it.
_SAME_OUTPUT: Mapping[str, tuple[Any, ...]] = {
    "newline_sequence": ("\n",),
    "autoescape": (False, None),
}


def environment_options(envops: EnvOptions) -> dict[str, Any]:
    """Keyword arguments of a plain ``jinja2.Environment`` with ``envops``' syntax."""
    return {k: v for k, v in attrs.asdict(envops).items() if k in _SYNTAX_FIELDS}


def envops_from(options: Mapping[str, Any], *, where: str, strict: bool) -> EnvOptions:
    """Jinja ``Environment`` options of a foreign template as :class:`EnvOptions`.

    ``strict`` says whether the tool's default is ``StrictUndefined``. Options
    that would change the output in ways the engine does not mirror
    (autoescaping, another newline sequence, custom classes) are refused.
    """
    if not isinstance(options, Mapping):
        raise LoadError(f"{where} must be a mapping")
    known: dict[str, Any] = {"strict_undefined": strict}
    for key, value in options.items():
        if key in _SYNTAX_FIELDS:
            known[key] = value
        elif key == "undefined" and value in _UNDEFINED:
            known["strict_undefined"] = _UNDEFINED[value]
        elif value not in _SAME_OUTPUT.get(key, ()):
            raise LoadError(f"{where}: the Jinja option {key}={value!r} is not supported")
    try:
        return EnvOptions(**known)
    except TypeError as exc:
        raise LoadError(f"{where}: {exc}") from None
