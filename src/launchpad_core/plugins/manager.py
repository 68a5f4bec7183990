"""The plugin manager and the typed wrapper every caller uses to call hooks.

Third-party plugins load from the ``launchpad`` entry-point group; then the
built-in default plugins register, so built-in behaviour goes through the same
hooks a third party implements. ``LAUNCHPAD_PLUGINS`` (see
:mod:`launchpad_core.config`) limits which entry-point plugins load.

Reading the entry points costs a command a few milliseconds (scanning every
installed distribution; ``importlib.metadata`` alone, which this module reads
them without where it can, takes 10 ms more), so the CLI
keeps the list in its cache folder, valid for the same interpreter and
``sys.path`` with the same modification times (an install or uninstall changes
the folder it writes to; a plugin edited in place keeps its entry points).
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import re
import sys
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from ..errors import PluginError
from . import hookspecs

if TYPE_CHECKING:
    from ..importers.importing import TemplateImporter
    from ..model.answers import Answers
    from ..model.template import Template
    from ..model.variables import VariableType
    from .billing import BillingProvider
    from .forges import Forge
    from .generators import FileGenerator

DEFAULT_PLUGINS = (
    "launchpad_core.plugins.default_types",
    "launchpad_core.plugins.default_billing",
    "launchpad_core.importers.copier",
    "launchpad_core.importers.cookiecutter",
    "launchpad_core.importers.launchpad",
)


def make_plugin_manager(
    *, load_entrypoints: bool = True, only: Collection[str] | None = None,
    cache_dir: Path | None = None,
) -> pluggy.PluginManager:
    """A manager with the entry-point plugins (all, or those named in ``only``) and defaults.

    With ``cache_dir``, the entry points are read from the list kept there while
    it is valid (:func:`_cached_entry_points`); a list read afresh is written there
    only by :func:`keep_entry_points` (a service command writes nothing there)."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if load_entrypoints:
        if cache_dir is None:
            found = _entry_points()
        else:
            found, fresh = _cached_entry_points(cache_dir)
            if fresh is not None:
                _TO_KEEP[id(pm)] = (cache_dir, fresh)
        _load_entrypoints(pm, found, only)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    pm.check_pending()
    return pm


def _load_entrypoints(pm: pluggy.PluginManager, found: tuple[tuple[str, str], ...],
                      only: Collection[str] | None) -> None:
    for name, value in found:
        if only is not None and name not in only:
            continue
        if pm.get_plugin(name) is not None or pm.is_blocked(name):
            continue
        try:
            plugin = _load_object(value)
        except Exception as exc:
            raise PluginError(f"plugin {name!r} failed to load: {exc}") from exc
        pm.register(plugin, name=name)


def _load_object(value: str) -> Any:
    """What an entry point's ``module:attr.attr`` value names, as ``EntryPoint.load`` does."""
    module, _, attrs = value.split("[", 1)[0].partition(":")
    found = importlib.import_module(module.strip())
    for attr in filter(None, attrs.strip().split(".")):
        found = getattr(found, attr)
    return found


@functools.cache
def _entry_points() -> tuple[tuple[str, str], ...]:
    """The ``launchpad`` entry points (name, value), read once per process (reading them
    scans every installed distribution). A plugin installed later loads in new processes;
    the render daemon, which outlives commands, exits when installed packages change."""
    found = _scanned_entry_points(hookspecs.PROJECT)
    if found is None:
        from importlib.metadata import entry_points

        found = tuple((ep.name, ep.value) for ep in entry_points(group=hookspecs.PROJECT))
    return found


_METADATA_FOLDERS = (".dist-info", ".egg-info")
_SEPARATORS = re.compile(r"[-_.]+")  # a distribution name's, as PEP 503 normalises it


def _scanned_entry_points(group: str) -> tuple[tuple[str, str], ...] | None:
    """What ``importlib.metadata.entry_points(group=group)`` answers, read as it reads them
    (the folders of ``sys.path`` in order, their ``*.dist-info`` and ``*.egg-info`` in
    listing order, the first distribution of each name), without importing it and the
    ``email`` package it loads: a third of a cold command's imports. None where it would
    look further or fail: a distribution finder of another kind on ``sys.meta_path``, a
    zip or ``.egg`` on ``sys.path``, an entry-point file it would refuse."""
    from importlib.machinery import PathFinder

    finders = [f for f in sys.meta_path if hasattr(f, "find_distributions")]
    if finders != [PathFinder]:
        return None
    seen: set[str] = set()
    found: list[tuple[str, str]] = []
    for root in sys.path:
        try:
            children = os.listdir(root or ".")
        except OSError:
            if os.path.exists(root):
                return None  # a zip archive
            continue
        if root.lower().endswith(".egg"):
            return None
        folder = root or "."
        for child in children:
            low = child.lower()
            if not low.endswith(_METADATA_FOLDERS):
                continue
            name = _SEPARATORS.sub("_", low.rpartition(".")[0].partition("-")[0])
            if name in seen:
                continue
            seen.add(name)
            entries = _group_in(f"{folder}/{child}/entry_points.txt", group)
            if entries is None:
                return None
            found.extend(entries)
    return tuple(found)


def _group_in(path: str, group: str) -> list[tuple[str, str]] | None:
    """The ``group`` section of one ``entry_points.txt`` (none when there is no file or
    no such section), or None when ``importlib.metadata`` would fail on it."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
        return []
    except (OSError, ValueError):
        return None
    if f"[{group}]" not in text:
        return []  # most distributions: not parsed (a malformed file of theirs is ignored)
    section, entries = None, []
    for line in map(str.strip, text.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
        elif section is not None:
            name, equals, value = line.partition("=")
            if not equals:
                return None
            if section == group:
                entries.append((name.strip(), value.strip()))
    return entries


#: Entry-point lists read afresh, by plugin manager, until :func:`keep_entry_points`.
_TO_KEEP: dict[int, tuple[Path, dict[str, Any]]] = {}


def _cached_entry_points(
    cache_dir: Path,
) -> tuple[tuple[tuple[str, str], ...], dict[str, Any] | None]:
    """:func:`_entry_points`, from the list kept in ``cache_dir`` for the same interpreter
    and ``sys.path`` with the same modification times; an unreadable or stale list is
    read again, and also answered as the record to keep (else None)."""
    path = cache_dir / "entry-points.json"
    key = _installation_key()
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        if kept["key"] == key:
            return tuple((str(name), str(value)) for name, value in kept["entry_points"]), None
    except (OSError, ValueError, KeyError, TypeError):
        pass
    found = _entry_points()
    return found, {"key": key, "entry_points": found}


def keep_entry_points(pm: pluggy.PluginManager) -> None:
    """Write the entry-point list ``pm`` read afresh into its cache folder (a CLI command
    that uses the CLI's cache calls this; a service never does)."""
    kept = _TO_KEEP.pop(id(pm), None)
    if kept is None:
        return
    cache_dir, record = kept
    path = cache_dir / "entry-points.json"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        partial.write_text(json.dumps(record), encoding="utf-8")
        partial.replace(path)
    except OSError:
        pass  # a read-only cache folder: the next command scans again


def _installation_key() -> list[str]:
    """The interpreter and each ``sys.path`` folder with its modification time.

    As for the daemon (:func:`launchpad_core.cli.daemon.fingerprint`), ``sys.path[0]``,
    the script's folder or the working directory, is left out: it changes with
    every caller, and no plugin is installed there."""
    key = [sys.executable, sys.version]
    for entry in sys.path if sys.flags.safe_path else sys.path[1:]:
        try:
            key.append(f"{entry}@{os.stat(entry or '.').st_mtime_ns}")
        except OSError:
            key.append(f"{entry}@")
    return key


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

    def forges(self, *, settings: Mapping[str, Mapping[str, str]]) -> dict[str, Forge]:
        return _unique(self.pm.hook.launchpad_forges(settings=settings), "forge")

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
