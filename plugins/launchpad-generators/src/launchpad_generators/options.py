"""Reading a generator's options: known names only, text values, clear errors.

Options arrive from ``settings.generators`` already rendered over the answers,
so they are usually strings; YAML may also give numbers, booleans or lists.
Every problem is a ``ValueError`` whose message names the option, which the
core reports as ``file generator 'NAME': MESSAGE``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import attrs


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(_text(item) for item in value)
    return str(value).strip()


@attrs.frozen
class Options:
    """The options given to one generator, as stripped text by name."""

    values: Mapping[str, str]

    @classmethod
    def read(cls, given: Mapping[str, Any], known: Collection[str]) -> Options:
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ValueError(
                f"unknown option {unknown[0]!r} (options: {', '.join(known)})"
            )
        return cls({name: _text(value) for name, value in given.items()})

    def text(self, name: str, default: str = "") -> str:
        return self.values.get(name) or default

    def required(self, name: str) -> str:
        value = self.text(name)
        if not value:
            raise ValueError(f"the option {name!r} is required")
        return value

    def listed(self, name: str, default: str = "") -> list[str]:
        """A comma-separated option as a list without blanks or repeats, in the given order."""
        items = (item.strip() for item in self.text(name, default).split(","))
        return list(dict.fromkeys(item for item in items if item))

    def one_of(self, name: str, allowed: Collection[str], default: str) -> str:
        value = self.text(name, default)
        if value.lower() not in allowed:
            raise ValueError(
                f"{name} {value!r} is not supported (supported: {', '.join(allowed)})"
            )
        return value.lower()

    def positive_int(self, name: str, default: int) -> int:
        value = self.text(name, str(default))
        if not (value.isascii() and value.isdigit()) or int(value) < 1:
            raise ValueError(f"{name} must be a whole number above 0, got {value!r}")
        return int(value)
