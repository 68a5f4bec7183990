"""The plugin manager and the typed wrapper every caller uses to call hooks.

Third-party plugins load from the ``launchpad`` entry-point group; then the
built-in default plugins register, so built-in behaviour goes through the same
hooks a third party implements. ``LAUNCHPAD_PLUGINS`` (see
:mod:`launchpad_core.config`) limits which entry-point plugins load.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from . import hookspecs
from .errors import PluginError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from .billing import BillingProvider
    from .generators import FileGenerator
    from .importing import TemplateImporter
    from .model.answers import Answers
    from .model.template import Template
    from .variables import VariableType

DEFAULT_PLUGINS = (
    "launchpad_core.default_types",
    "launchpad_core.billing",
    "launchpad_core.importers.copier",
    "launchpad_core.importers.cookiecutter",
    "launchpad_core.importers.launchpad",
)


def make_plugin_manager(
    *, load_entrypoints: bool = True, only: Collection[str] | None = None
) -> pluggy.PluginManager:
    """A manager with the entry-point plugins (all, or those named in ``only``) and defaults."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if load_entrypoints:
        _load_entrypoints(pm, only)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    pm.check_pending()
    return pm


def _load_entrypoints(pm: pluggy.PluginManager, only: Collection[str] | None) -> None:
    for ep in _entry_points():
        if only is not None and ep.name not in only:
            continue
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            raise PluginError(f"plugin {ep.name!r} failed to load: {exc}") from exc
        pm.register(plugin, name=ep.name)


@functools.cache
def _entry_points() -> tuple[EntryPoint, ...]:
    """The ``launchpad`` entry points, read once per process (reading them scans every
    installed distribution). A plugin installed later loads in new processes; the
    render daemon, which outlives commands, exits when installed packages change."""
    from importlib.metadata import entry_points

    return tuple(entry_points(group=hookspecs.PROJECT))


class Hooks:
    """One typed method per hook; callers never touch ``pm.hook`` directly."""

    def __init__(self, pm: pluggy.PluginManager):
        self.pm = pm

    def variable_types(self) -> dict[str, VariableType]:
        return _unique(self.pm.hook.launchpad_variable_types(), "variable type")

    def jinja_filters(self) -> dict[str, Callable[..., Any]]:
        return _merged(self.pm.hook.launchpad_jinja_filters())

    def jinja_globals(self) -> dict[str, Any]:
        return _merged(self.pm.hook.launchpad_jinja_globals())

    def file_generators(self) -> dict[str, FileGenerator]:
        return _unique(self.pm.hook.launchpad_file_generators(), "file generator")

    def template_importers(self) -> dict[str, TemplateImporter]:
        return _unique(self.pm.hook.launchpad_template_importers(), "template importer")

    def render_context(self, *, template: Template, answers: Answers) -> dict[str, Any]:
        return _merged(self.pm.hook.launchpad_render_context(template=template, answers=answers))

    def billing_provider(self, *, settings: Mapping[str, Any]) -> BillingProvider:
        provider = self.pm.hook.launchpad_billing_provider(settings=settings)
        if provider is None:
            raise PluginError("no billing provider answered")
        return provider

    def register_commands(self, *, subparsers: Any) -> None:
        self.pm.hook.launchpad_register_commands(subparsers=subparsers)

    def notify(self, *, kind: str, recipient: str, subject: str, message: str,
               settings: Mapping[str, Any]) -> None:
        self.pm.hook.launchpad_notify(kind=kind, recipient=recipient, subject=subject,
                                      message=message, settings=settings)

    def plugins(self) -> list[tuple[str, list[str]]]:
        """Each loaded plugin's name and the hooks it implements."""
        return [
            (self.pm.get_name(plugin) or repr(plugin), sorted(h.name for h in callers))
            for plugin, callers in (
                (p, self.pm.get_hookcallers(p) or []) for p in self.pm.get_plugins()
            )
        ]


def _merged(results: list[Mapping[str, Any] | None]) -> dict[str, Any]:
    """One mapping; on a clash the implementation pluggy called first wins (the last
    registered, or one marked ``tryfirst``), as it would with ``firstresult``."""
    merged: dict[str, Any] = {}
    for result in reversed(results):
        merged.update(result or {})
    return merged


def _unique(results: list[list[Any]], what: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for items in results:
        for item in items or ():
            if item.name in found:
                raise PluginError(f"two plugins provide the {what} {item.name!r}")
            found[item.name] = item
    return found
