"""Resolved answers: typed values for every variable, secrets marked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen
class Answers:
    """Every variable's value, in the template's order.

    ``values`` holds all of them, also the ones skipped by ``when`` (which take
    their default); ``secret`` names the ones that must never be echoed,
    stored in answers files or logged.
    """

    values: Mapping[str, Any] = attrs.field(factory=dict)
    secret: frozenset[str] = frozenset()
    skipped: frozenset[str] = frozenset()

    def public(self) -> dict[str, Any]:
        """The answers that may be stored or shown (secrets left out)."""
        return {k: v for k, v in self.values.items() if k not in self.secret}

    def redacted(self) -> dict[str, Any]:
        """All answers with secret values replaced, for logs."""
        return {k: ("***" if k in self.secret else v) for k, v in self.values.items()}

    def __getitem__(self, name: str) -> Any:
        return self.values[name]
