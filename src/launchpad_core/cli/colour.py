"""Colour on the terminal, when it has one and the user did not refuse it.

``NO_COLOR`` (and ``TERM=dumb``) turn colour off, ``FORCE_COLOR`` on (read by
:class:`~launchpad_core.config.CoreSettings`); otherwise a stream gets colour
when it is a terminal.
"""

from __future__ import annotations

from typing import TextIO

import attrs

RESET = "\033[0m"
CODES = {"bold": "1", "red": "31", "green": "32", "yellow": "33", "dim": "2"}


@attrs.frozen
class Palette:
    """Wraps text in ANSI colour codes, or returns it unchanged when ``enabled`` is False."""

    enabled: bool

    def paint(self, text: str, style: str) -> str:
        return f"\033[{CODES[style]}m{text}{RESET}" if self.enabled and text else text

    def error(self, text: str) -> str:
        return self.paint(text, "red")

    def success(self, text: str) -> str:
        return self.paint(text, "green")

    def warning(self, text: str) -> str:
        return self.paint(text, "yellow")

    def strong(self, text: str) -> str:
        return self.paint(text, "bold")


def palette(stream: TextIO, *, setting: bool | None) -> Palette:
    """The palette for ``stream``: ``setting`` (NO_COLOR/FORCE_COLOR) wins, else a terminal."""
    if setting is not None:
        return Palette(setting)
    isatty = getattr(stream, "isatty", None)
    return Palette(bool(isatty and isatty()))
