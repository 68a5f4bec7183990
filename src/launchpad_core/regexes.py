"""Regular expressions a template supplies, each bounded in time.

Python's ``re`` backtracks without limit: ``(a|a)+$`` against thirty ``a``
and a ``!`` keeps one C call busy for minutes, which no deadline interrupts.
Every pattern from a template (a variable's ``pattern``, the ``regex_*``
filters) runs here instead, through the ``regex`` package, which stops a
match after ``Limits.regex_seconds`` with :class:`RegexTimeoutError`.
"""

from __future__ import annotations

from typing import Any

import regex

from .errors import RegexTimeoutError
from .limits import Limits

IGNORECASE = regex.IGNORECASE
MULTILINE = regex.MULTILINE
#: Raised by :func:`compile` for a pattern that is not a regular expression.
error = regex.error
_SHOWN = 60  # characters of a pattern an error message quotes


def compile(pattern: str, flags: int = 0) -> regex.Pattern[str]:
    return regex.compile(pattern, flags)


def seconds_for(environment: Any) -> float:
    """The time a match may take in ``environment`` (a LaunchPad sandbox has limits)."""
    limits = getattr(environment, "limits", None)
    return (limits if isinstance(limits, Limits) else Limits()).regex_seconds


def run(method: str, pattern: str, *args: Any, seconds: float, flags: int = 0) -> Any:
    """``compile(pattern, flags).<method>(*args)``, stopped after ``seconds``."""
    compiled = compile(pattern, flags)
    try:
        return getattr(compiled, method)(*args, timeout=seconds)
    except TimeoutError:
        shown = pattern if len(pattern) <= _SHOWN else f"{pattern[:_SHOWN]}..."
        raise RegexTimeoutError(
            f"the regular expression {shown!r} took longer than {seconds:g} seconds"
        ) from None
