"""JSON from outside, read strictly: only values every part of LaunchPad can hold.

:func:`loads` is the standard library's parser with hooks, and two iterative
passes around it (no recursion, so no nesting depth can exhaust the stack):

1. before parsing, the nesting depth of arrays and objects (outside strings) is
   counted; deeper than ``max_depth`` is ``too_deep``;
2. while parsing, integers keep their text unless they fit a signed 64-bit
   integer (so a 5,000-digit one costs nothing and is ``number_out_of_range``),
   ``NaN``/``Infinity`` and floats too large for a double are ``non_finite_number``;
3. after parsing, every string and key is looked at: NUL characters (PostgreSQL
   cannot store them) are ``invalid_character``, UTF-16 surrogates without their
   pair (``"\\ud800"``: not text, no encoder writes them) are ``lone_surrogate``.

Each problem carries the JSON path of the value (``$.definition.files[0].content``).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from typing import Any

from ..errors import LaunchpadError, Problem, ProblemsError

MAX_DEPTH = 64
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Escapes that may spell a NUL or a surrogate without its pair (a false alarm, such
#: as an escaped backslash before "u0000", only costs the walk that decides).
_SUSPECT_ESCAPE = re.compile(
    r"\\u0000"
    r"|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F]")
#: A body of nothing but refused values is answered with the first ones found.
MAX_PROBLEMS = 100


class JsonSyntaxError(LaunchpadError):
    """The text is not JSON (or not UTF-8)."""

    code = "invalid_json"


class JsonValueError(ProblemsError):
    """Well-formed JSON holding values LaunchPad does not accept; ``problems`` lists each."""

    code = "invalid_json_value"


class _Refused:
    """A number the parse hooks refused, kept in place so its path can be found (a
    marker, compared by identity: a plain class costs a cold start no definition)."""

    __slots__ = ("code", "message")

    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message


def loads(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """``raw`` parsed, or :class:`JsonSyntaxError` / :class:`JsonValueError`."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else raw
    except UnicodeDecodeError:
        raise JsonSyntaxError("the body is not UTF-8") from None
    depth = _depth(text)
    if depth > max_depth:
        raise JsonValueError("the JSON is nested too deeply", [Problem(
            "too_deep", f"arrays and objects nest {depth} deep; at most {max_depth} are accepted",
        )])
    refused: list[_Refused] = []
    try:
        value = json.loads(text, parse_int=functools.partial(_int, refused),
                           parse_float=functools.partial(_float, refused),
                           parse_constant=functools.partial(_constant, refused))
    except json.JSONDecodeError as exc:
        raise JsonSyntaxError(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    if not (refused or "\x00" in text or _SURROGATE.search(text)
            or _SUSPECT_ESCAPE.search(text)):
        return value
    if problems := _problems(value):
        raise JsonValueError("the JSON holds values that are not accepted", problems)
    return value


def loads_answer(text: str) -> Any:
    """A JSON answer typed as text (a form field, a prompt) read by :func:`loads`;
    :class:`ValueError` says what is wrong, as a variable type's ``coerce`` does."""
    try:
        return loads(text)
    except JsonSyntaxError as exc:
        raise ValueError(f"not valid JSON: {exc.message}") from None
    except JsonValueError as exc:
        first = exc.problems[0]
        where = "" if first.path == "$" else f" at {first.path}"
        raise ValueError(f"not accepted: {first.message}{where}") from None


def _depth(text: str) -> int:
    brackets = _BRACKETS.findall(_STRINGS.sub("", text))
    return max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


def _int(refused: list[_Refused], text: str) -> int | _Refused:
    if len(text.lstrip("-")) <= 19 and INT64_MIN <= (number := int(text)) <= INT64_MAX:
        return number
    return _refuse(refused, "number_out_of_range",
                   "integers must lie between -2^63 and 2^63-1 (signed 64-bit)")


def _float(refused: list[_Refused], text: str) -> float | _Refused:
    number = float(text)
    return number if math.isfinite(number) else _constant(refused, text)


def _constant(refused: list[_Refused], text: str) -> _Refused:
    return _refuse(refused, "non_finite_number", f"{text[:20]} is not a finite number")


def _refuse(refused: list[_Refused], code: str, message: str) -> _Refused:
    refused.append(_Refused(code, message))
    return refused[-1]


def _string_problem(text: str) -> tuple[str, str] | None:
    if "\x00" in text:
        return "invalid_character", "text may not hold NUL characters"
    if _SURROGATE.search(text):
        return "lone_surrogate", "text holds a UTF-16 surrogate without its pair (not a character)"
    return None


def _problems(data: Any) -> list[Problem]:
    """Every refused number and string with its path. Paths are only spelled out for
    problems: each stacked value keeps a link to its parent and its key or index."""
    found: list[Problem] = []
    stack: list[tuple[Any, Any]] = [(data, None)]
    while stack and len(found) < MAX_PROBLEMS:
        value, where = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if problem := _string_problem(key):
                    found.append(Problem(problem[0], f"a key: {problem[1]}",
                                         _path((where, key))))
                stack.append((item, (where, key)))
        elif isinstance(value, list):
            stack.extend((item, (where, i)) for i, item in enumerate(value)
                         if not isinstance(item, int | float | bool | None))
        elif isinstance(value, _Refused):
            found.append(Problem(value.code, value.message, _path(where)))
        elif isinstance(value, str) and (problem := _string_problem(value)):
            found.append(Problem(*problem, _path(where)))
    return sorted(found, key=lambda p: p.path)


def _path(where: Any) -> str:
    parts = []
    while where is not None:
        where, key = where
        parts.append(f"[{key}]" if isinstance(key, int) else f".{_SURROGATE.sub('?', key)}")
    return "$" + "".join(reversed(parts))
