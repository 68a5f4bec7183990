"""Shared pieces of the core tests: a Launchpad without entry-point plugins and
small helpers that build inline templates and render them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from launchpad_core import EnvOptions, Launchpad, Limits
from launchpad_core.model.output import RenderedFile
from launchpad_core.plugins import make_plugin_manager


def make_launchpad(
    limits: Limits | None = None, *, plugins: Sequence[object] = (), **kwargs: Any
) -> Launchpad:
    """A Launchpad with the built-in default plugins and ``plugins`` (inline ones)."""
    pm = make_plugin_manager(load_entrypoints=False)
    for plugin in plugins:
        pm.register(plugin)
    return Launchpad(plugin_manager=pm, limits=limits, **kwargs)


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


def render(
    lp: Launchpad, data: Mapping[str, Any], given: Mapping[str, Any] | None = None
) -> list[RenderedFile]:
    """Structure ``data``, resolve ``given`` (JSON answers) and render."""
    template = lp.structure(dict(data))
    return lp.render(template, lp.resolve_answers(template, given or {}))


def render_tree(
    lp: Launchpad, data: Mapping[str, Any], given: Mapping[str, Any] | None = None
) -> dict[str, bytes]:
    """Like :func:`render`, as {path: bytes}."""
    return {f.path: f.data for f in render(lp, data, given)}


def render_text(lp: Launchpad, source: str, **context: Any) -> str:
    """Render one Jinja text in the sandbox of ``lp`` (no deadline)."""
    return lp.engine.render_text(EnvOptions(), source, context, "test")
