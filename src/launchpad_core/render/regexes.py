"""Regular expressions a template supplies, each bounded in time.

Python's ``re`` backtracks without limit: ``(a|a)+$`` against thirty ``a``
and a ``!`` keeps one C call busy for minutes, which no deadline interrupts.
Every pattern from a template (a variable's ``pattern``, the ``regex_*``
filters) runs here instead, through the ``regex`` package, which stops a
match after ``Limits.regex_seconds`` with :class:`RegexTimeoutError`.

``regex`` is imported by the first pattern, not with this module: importing it
costs about 10 ms, which a render whose template has no pattern does not pay.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..errors import RegexTimeoutError
from .limits import Limits

if TYPE_CHECKING:
    import regex

#: ``regex`` shares these flag values with ``re``.
IGNORECASE = re.IGNORECASE
MULTILINE = re.MULTILINE
_SHOWN = 60  # characters of a pattern an error message quotes


def __getattr__(name: str) -> Any:
    """``error``, raised by :func:`compile` for a pattern that is not a regular expression."""
    if name == "error":
        import regex

        return regex.error
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def compile(pattern: str, flags: int = 0) -> regex.Pattern[str]:
    import regex

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
