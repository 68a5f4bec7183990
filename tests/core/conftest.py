"""Shared pieces of the core tests: a Launchpad without entry-point plugins and
small helpers that build inline templates and render them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from launchpad_core import EnvOptions, Launchpad, Limits
from launchpad_core.testing import launchpad_with, render_definition


def make_launchpad(
    limits: Limits | None = None, *, plugins: Sequence[object] = (), **kwargs: Any
) -> Launchpad:
    """A Launchpad with the built-in default plugins and ``plugins`` (inline ones)."""
    return launchpad_with(*plugins, limits=limits, **kwargs)


@pytest.fixture
def lp() -> Launchpad:
    return make_launchpad()


def definition(
    *files: Mapping[str, Any] | str,
    variables: Sequence[Mapping[str, Any]] = (),
    **fields: Any,
) -> dict[str, Any]:
    """A definition named "t"; a file given as a string is a path with no content."""
    entries = [{"path": f} if isinstance(f, str) else dict(f) for f in files]
    return {"name": "t", "variables": list(variables), "files": entries, **fields}


# The plugin authors' helpers, under the names these tests use.
render = render_definition


def render_text(lp: Launchpad, source: str, **context: Any) -> str:
    """Render one Jinja text in the sandbox of ``lp`` (no deadline)."""
    return lp.engine.render_text(EnvOptions(), source, context, "test")
