"""What Cookiecutter's default Jinja extensions give a template, without extensions.

``jsonify`` and ``slugify`` become filters, ``random_ascii_string`` and
``uuid4`` globals. The ``{% now %}`` tag needs a parser extension, which the
sandbox does not load; the importer rewrites each tag into an equivalent call
of the ``cookiecutter_now`` global instead, keeping its whitespace control.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import string
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jinja2

from ..model.template import EnvOptions
from ..render.sandbox import refuse_beyond
from .jinja_text import environment_options, expression

DEFAULT_DATETIME_FORMAT = "%Y-%m-%d"
_OFFSET = re.compile(r"^(?:\(UTC)*([\+\-])?(\d{2})(?:\:?(\d{2}))?")
_CLOSERS = frozenset({")", "]", "}"})
_MONTH_UNITS = {"years": 12, "quarters": 3, "months": 1}
_TIME_UNITS = ("weeks", "days", "hours", "minutes", "seconds", "microseconds")


def jsonify(obj: Any, indent: int = 4) -> str:
    return json.dumps(obj, sort_keys=True, indent=indent)


def uuid4() -> str:
    import uuid  # only the templates that call it pay for it

    return str(uuid.uuid4())


def random_ascii_string(length: int, punctuation: bool = False) -> str:
    refuse_beyond(None, length, "a random string")
    import secrets  # only the templates that call it pay for it

    corpus = string.ascii_letters + (string.punctuation if punctuation else "")
    return "".join(secrets.choice(corpus) for _ in range(length))


def _timezone(name: str) -> dt.tzinfo:
    """A timezone as arrow reads one: 'local', 'utc', '+05:30' or an IANA name."""
    if name == "local":
        zone = dt.datetime.now().astimezone().tzinfo
        assert zone is not None
        return zone
    if name in ("utc", "UTC", "Z"):
        return dt.UTC
    match = _OFFSET.match(name)
    if match:
        sign, hours, minutes = match.groups()
        seconds = int(hours) * 3600 + int(minutes or 0) * 60
        return dt.timezone(dt.timedelta(seconds=-seconds if sign == "-" else seconds))
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"could not parse timezone expression {name!r}") from None


def _shift(moment: dt.datetime, operator: str, offset: str) -> dt.datetime:
    """Apply 'days=1, hours=2' like arrow's ``shift`` (calendar months first)."""
    months, delta = 0, dt.timedelta()
    for part in offset.split(","):
        unit, value = (p.strip() for p in part.split("="))
        amount = float(operator + value)
        if unit in _MONTH_UNITS:
            months += int(amount) * _MONTH_UNITS[unit]
        elif unit in _TIME_UNITS:
            delta += dt.timedelta(**{unit: amount})
        else:
            raise ValueError(f"invalid shift time frame {unit!r}")
    if months:
        import calendar  # only a {% now %} shifted by months pays for it (and its locale)

        index = moment.month - 1 + months
        year, month = moment.year + index // 12, index % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        moment = moment.replace(year=year, month=month, day=day)
    return moment + delta


def cookiecutter_now(
    timezone: str,
    datetime_format: str | None = None,
    operator: str | None = None,
    offset: str | None = None,
) -> str:
    """What ``{% now timezone [+|- offset][, format] %}`` outputs."""
    moment = dt.datetime.now(_timezone(timezone))
    if operator and offset:
        moment = _shift(moment, operator, offset)
    return moment.strftime(datetime_format or DEFAULT_DATETIME_FORMAT)


def slugify(text: Any, *args: Any, **kwargs: Any) -> str:
    """python-slugify's ``slugify``, imported on first use (it compiles many patterns)."""
    from slugify import slugify

    return slugify(text, *args, **kwargs)


FILTERS: Mapping[str, Callable[..., Any]] = {"jsonify": jsonify, "slugify": slugify}
GLOBALS: Mapping[str, Any] = {
    "random_ascii_string": random_ascii_string,
    "uuid4": uuid4,
    "cookiecutter_now": cookiecutter_now,
}


class _Token:
    """One Jinja token and where it starts (``__slots__``: many are made per text)."""

    __slots__ = ("kind", "start", "value")

    def __init__(self, kind: str, value: str, start: int) -> None:
        self.kind, self.value, self.start = kind, value, start

    @property
    def end(self) -> int:
        return self.start + len(self.value)


def _tokens(text: str, envops: EnvOptions) -> list[_Token] | None:
    """Jinja's tokens of ``text`` with their offsets, or None if it does not lex."""
    env = jinja2.Environment(**environment_options(envops))
    tokens, pos = [], 0
    try:
        for _line, kind, value in env.lex(text):
            start = text.find(value, pos)
            if start < 0:
                return None
            tokens.append(_Token(kind, value, start))
            pos = start + len(value)
    except jinja2.TemplateSyntaxError:
        return None
    return tokens


def _now_tags(tokens: list[_Token]) -> Iterator[tuple[int, int]]:
    """(index of block_begin, index of block_end) of every ``now`` tag."""
    for i, token in enumerate(tokens):
        if token.kind != "block_begin":
            continue
        inner = [t for t in tokens[i + 1 :] if t.kind != "whitespace"]
        if inner and inner[0].kind == "name" and inner[0].value == "now":
            end = next(j for j in range(i + 1, len(tokens)) if tokens[j].kind == "block_end")
            yield i, end


def _split_top(tokens: list[_Token], operators: frozenset[str], last: bool = False) -> int | None:
    """Index of the first (or last) binary operator among ``operators`` outside brackets."""
    depth, found, previous = 0, None, None
    for i, token in enumerate(tokens):
        if token.kind == "whitespace":
            continue
        if token.kind == "operator" and token.value in "([{":
            depth += 1
        elif token.kind == "operator" and token.value in ")]}":
            depth -= 1
        elif depth == 0 and token.kind == "operator" and token.value in operators:
            binary = previous is not None and (
                previous.kind != "operator" or previous.value in _CLOSERS
            )
            if binary:
                found = i
                if not last:
                    return found
        previous = token
    return found


def _source(text: str, tokens: list[_Token]) -> str:
    meaningful = [t for t in tokens if t.kind != "whitespace"]
    return text[meaningful[0].start : meaningful[-1].end] if meaningful else "none"


def _call(text: str, args: list[_Token]) -> str:
    comma = _split_top(args, frozenset({","}))
    expr, fmt = (args, []) if comma is None else (args[:comma], args[comma + 1 :])
    fmt_source = _source(text, fmt)
    sign = _split_top(expr, frozenset({"+", "-"}), last=True)
    if sign is None:
        return f"cookiecutter_now({_source(text, expr)}, {fmt_source})"
    left, right = _source(text, expr[:sign]), _source(text, expr[sign + 1 :])
    return f"cookiecutter_now({left}, {fmt_source}, '{expr[sign].value}', {right})"


def rewrite_now_tags(text: str, envops: EnvOptions) -> str:
    """Replace ``{% now ... %}`` tags by ``{% if true %}{{ cookiecutter_now(...) }}{% endif %}``."""
    if "now" not in text:
        return text
    tokens = _tokens(text, envops)
    if tokens is None:
        return text
    pieces, pos = [], 0
    for begin, end in _now_tags(tokens):
        name = next(j for j in range(begin + 1, end) if tokens[j].kind == "name")
        call = _call(text, tokens[name + 1 : end])
        start, stop = tokens[begin], tokens[end]
        pieces += [
            text[pos : start.start],
            f"{start.value} if true {envops.block_end_string}",
            expression(call, envops),
            f"{envops.block_start_string} endif {stop.value}",
        ]
        pos = stop.end
    return "".join([*pieces, text[pos:]])


def rewrite_now_in(value: Any, envops: EnvOptions) -> Any:
    """:func:`rewrite_now_tags` in every string (keys too) of a ``cookiecutter.json`` value:
    Cookiecutter renders values with its time extension loaded, like the files."""
    if isinstance(value, str):
        return rewrite_now_tags(value, envops)
    if isinstance(value, dict):
        return type(value)(
            (rewrite_now_in(k, envops), rewrite_now_in(v, envops)) for k, v in value.items()
        )
    if isinstance(value, list):
        return [rewrite_now_in(v, envops) for v in value]
    return value
