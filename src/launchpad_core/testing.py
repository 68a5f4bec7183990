"""Helpers for testing plugins: a manager or a :class:`Launchpad` with inline plugins.

An inline plugin is any object with ``@hookimpl`` functions — a module, a
class or an instance — registered next to the built-in default plugins::

    from launchpad_core import hookimpl
    from launchpad_core.testing import launchpad_with, render_tree

    class Shout:
        @hookimpl
        def launchpad_jinja_filters(self):
            return {"shout": lambda text: text.upper() + "!"}

    definition = {"name": "t", "files": [{"path": "a.txt", "content": "{{ 'hi'|shout }}"}]}
    assert render_tree(launchpad_with(Shout()), definition) == {"a.txt": b"HI!"}

Entry-point plugins stay out unless asked for, so a test sees only what it
registers; ``load_entrypoints=True`` (with ``only``, as ``LAUNCHPAD_PLUGINS``
does) tests an installed plugin.
"""

from __future__ import annotations

import socket
from collections.abc import Collection, Mapping
from typing import Any

import pluggy

from .launchpad import Launchpad
from .model.output import RenderedFile
from .plugins.manager import make_plugin_manager


def plugin_manager_with(
    *plugins: object, load_entrypoints: bool = False, only: Collection[str] | None = None
) -> pluggy.PluginManager:
    """A plugin manager with the default plugins and ``plugins``, checked.

    An implementation whose name matches no hook (a typo) raises
    :class:`pluggy.PluginValidationError` here rather than being ignored.
    """
    pm = make_plugin_manager(load_entrypoints=load_entrypoints, only=only)
    for plugin in plugins:
        pm.register(plugin)
    pm.check_pending()
    return pm


def launchpad_with(
    *plugins: object,
    load_entrypoints: bool = False,
    only: Collection[str] | None = None,
    **kwargs: Any,
) -> Launchpad:
    """A :class:`Launchpad` with ``plugins`` registered; ``kwargs`` go to its constructor."""
    pm = plugin_manager_with(*plugins, load_entrypoints=load_entrypoints, only=only)
    return Launchpad(plugin_manager=pm, **kwargs)


def render_definition(
    launchpad: Launchpad, definition: Mapping[str, Any], given: Mapping[str, Any] | None = None
) -> list[RenderedFile]:
    """Structure and check ``definition``, resolve ``given`` (JSON answers) and render."""
    template = launchpad.structure(dict(definition))
    return launchpad.render(template, launchpad.resolve_answers(template, given or {}))


def render_tree(
    launchpad: Launchpad, definition: Mapping[str, Any], given: Mapping[str, Any] | None = None
) -> dict[str, bytes]:
    """Like :func:`render_definition`, as ``{path: bytes}``."""
    return {f.path: f.data for f in render_definition(launchpad, definition, given)}


def free_port() -> int:
    """A TCP port free on loopback right now, for a server a test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
