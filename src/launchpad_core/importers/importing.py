"""Importing foreign templates (Copier, Cookiecutter ...) as LaunchPad templates.

Importers are plugins: each answers ``launchpad_template_importers`` with
:class:`TemplateImporter` objects; the built-in ones live in
:mod:`launchpad_core.importers`. An imported template is an ordinary
:class:`~launchpad_core.model.template.Template`; what only its importer
understands sits in ``settings.origin`` and is read back by the importer's
``launchpad_render_context`` hook.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from ..errors import DefinitionError, LoadError
from ..model.template import Template
from ..sources.loading import (
    DIRECTORY_DEFINITIONS,
    directory_definition,
    load_directory,
    read_data,
)
from .cache import ImportCache

if TYPE_CHECKING:
    from ..launchpad import Launchpad


class TemplateImporter(Protocol):
    """Turns one foreign template format into a :class:`Template`."""

    #: The format's name, as given on the command line (``launchpad import NAME``).
    name: str

    def detect(self, path: Path) -> bool:
        """Whether the directory ``path`` holds a template of this format."""
        ...

    def load(self, path: Path, *, trusted: bool) -> Template:
        """Read the template at ``path``; raise :class:`~launchpad_core.errors.LoadError`.

        ``trusted`` allows running the code a format runs while loading
        (Cookiecutter's ``pre_prompt`` hook); without it such code is refused
        with :class:`~launchpad_core.errors.UntrustedCodeError`. An importer
        whose format runs code while loading also takes ``skip_tasks=True``
        (given only when set): skip that code and record it in
        ``settings.origin["skipped_tasks"]``.
        """
        ...

    def bind_destination(self, template: Template, destination: Path) -> Template:
        """The template with what the format knows of its output directory (folder name ...)."""
        ...


def _launchpad(launchpad: Launchpad | None) -> Launchpad:
    from ..launchpad import default_launchpad

    return launchpad or default_launchpad()


def template_importers(launchpad: Launchpad | None = None) -> dict[str, TemplateImporter]:
    """Every installed importer by name."""
    return _launchpad(launchpad).hooks.template_importers()


def detect_importer(
    path: str | Path, *, launchpad: Launchpad | None = None
) -> TemplateImporter | None:
    """The first importer that recognises the directory ``path``, or None."""
    source = Path(path)
    if not source.is_dir():
        return None
    return next((i for i in template_importers(launchpad).values() if i.detect(source)), None)


def named_importer(
    format: str, *, launchpad: Launchpad | None = None
) -> TemplateImporter:
    """The importer named ``format``, or :class:`~launchpad_core.errors.LoadError`."""
    importers = template_importers(launchpad)
    if format not in importers:
        raise LoadError(f"no importer named {format!r} (known: {', '.join(sorted(importers))})")
    return importers[format]


def load_with(
    importer: TemplateImporter, path: Path, *, trusted: bool, skip_tasks: bool = False
) -> Template:
    """``importer.load``, with its tasks skipped (:func:`without_tasks`) when ``skip_tasks``."""
    if not skip_tasks:
        return importer.load(path, trusted=trusted)
    import inspect

    takes_skip = "skip_tasks" in inspect.signature(importer.load).parameters
    options = {"skip_tasks": True} if takes_skip else {}
    return without_tasks(importer.load(path, trusted=trusted, **options))


def without_tasks(template: Template) -> Template:
    """``template`` with its tasks skipped (Copier's ``--skip-tasks``, Cookiecutter's
    ``--accept-hooks no``): no tasks, migrations or hook scripts, each one recorded
    in ``settings.origin["skipped_tasks"]`` so the skip is stated wherever the
    template goes. Jinja extensions stay: they are not tasks."""
    settings = template.settings
    skipped = [*settings.origin.get("skipped_tasks", ()), *map(task_name, settings.tasks)]
    if not skipped:
        return template
    scripts = {t.get("script") for t in settings.tasks}
    origin = {**settings.origin, "skipped_tasks": skipped}
    kept = tuple(f for f in settings.code_files if f.path not in scripts)
    return attrs.evolve(
        template,
        settings=attrs.evolve(settings, tasks=(), code_files=kept, origin=origin),
    )


def skipped_tasks(template: Template) -> list[str]:
    """What :func:`without_tasks` skipped (empty when nothing was)."""
    return [str(t) for t in template.settings.origin.get("skipped_tasks", ())]


def load_warnings(template: Template) -> list[str]:
    """What an importer left out or changed and wants stated (``settings.origin["warnings"]``:
    a ``.git`` a Copier template would copy ...), one line each."""
    return [str(w) for w in template.settings.origin.get("warnings", ())]


def tasks_skipped_by_service(definition: Any) -> list[str]:
    """The tasks, migrations and hooks of a definition (plain JSON) that a service which
    never runs a template's code skips, with those skipped when it was imported."""
    settings = definition.get("settings") if isinstance(definition, dict) else None
    if not isinstance(settings, dict):
        return []
    origin = settings.get("origin") if isinstance(settings.get("origin"), dict) else {}
    tasks = settings.get("tasks") if isinstance(settings.get("tasks"), list) else []
    return [*map(str, origin.get("skipped_tasks") or ()),
            *(task_name(t) for t in tasks if isinstance(t, dict))]


def task_name(task: dict) -> str:
    """A task as a person reads it: its script, migration or command."""
    if "script" in task:
        return str(task["script"])
    if "migration" in task:
        return f"migration {task['migration']!r}"
    command = task.get("command")
    return " ".join(map(str, command)) if isinstance(command, list) else str(command)


def import_template(
    path: str | Path,
    format: str | None = None,
    *,
    trusted: bool = False,
    skip_tasks: bool = False,
    launchpad: Launchpad | None = None,
) -> Template:
    """Import the template at ``path`` with the importer named ``format`` (or detected).

    ``skip_tasks`` imports it without its tasks and hooks (:func:`without_tasks`).
    The result is checked like any definition (but for the syntax of templates
    that load Jinja extensions); a problem raises
    :class:`~launchpad_core.errors.LoadError` or
    :class:`~launchpad_core.errors.DefinitionError`.
    """
    lp = _launchpad(launchpad)
    if format is None:
        importer = detect_importer(path, launchpad=lp)
        if importer is None:
            known = ", ".join(sorted(template_importers(lp)))
            raise LoadError(f"{path} is not a template any importer recognises ({known})")
    else:
        importer = named_importer(format, launchpad=lp)
    if not Path(path).is_dir():
        raise LoadError(f"not found: {path}" if not Path(path).exists() else
                        f"{path} is not a directory")
    if not importer.detect(Path(path)):
        raise LoadError(_not_theirs(Path(path), importer.name, lp))
    template = load_with(importer, Path(path), trusted=trusted, skip_tasks=skip_tasks)
    problems = lp.problems(template)
    if template.settings.jinja_extensions:
        # Tags of the template's own extensions parse only once they are loaded (trusted).
        problems = [p for p in problems if p.code != "template_syntax"]
    if problems:
        raise DefinitionError("The imported definition is not valid.", problems)
    return template


def _not_theirs(path: Path, name: str, launchpad: Launchpad) -> str:
    other = detect_importer(path, launchpad=launchpad)
    hint = f"; it looks like a {other.name} template" if other is not None else ""
    return f"{path} is not a {name} template{hint}"


#: ``settings.origin`` keys that hold paths of the machine that imported the template.
MACHINE_PATHS = ("source", "repo_dir", "template_path", "destination")


def portable(template: Template) -> Template:
    """``template`` without the importing machine's paths in ``settings.origin``,
    for a definition written to a file or sent to a hosted service."""
    origin = template.settings.origin
    if not any(key in origin for key in MACHINE_PATHS):
        return template
    kept = {k: v for k, v in origin.items() if k not in MACHINE_PATHS}
    return attrs.evolve(template, settings=attrs.evolve(template.settings, origin=kept))


def importer_of(
    template: Template, *, launchpad: Launchpad | None = None
) -> TemplateImporter | None:
    """The importer that made ``template``, if it was imported and that importer is installed."""
    name = template.settings.origin.get("format")
    return template_importers(launchpad).get(name) if isinstance(name, str) else None


def with_source(
    template: Template,
    source: str,
    *,
    vcs_ref: str | None = None,
    launchpad: Launchpad | None = None,
) -> Template:
    """Tell an imported template the source as the person gave it (``gh:owner/name``,
    ``./tpl``: Copier's ``_src_path``, Cookiecutter's ``_template``) and the Git ref they
    asked for (Copier's ``_copier_conf.vcs_ref``, Cookiecutter's ``_checkout``), where
    it was loaded from a checkout or a path spelt otherwise; a template that was not
    imported is returned unchanged."""
    importer = importer_of(template, launchpad=launchpad)
    if importer is None:
        return template
    origin = {**template.settings.origin, "source": source, "vcs_ref": vcs_ref}
    bound = attrs.evolve(template, settings=attrs.evolve(template.settings, origin=origin))
    # Values an importer derives from the origin (Copier's hidden ``_src_path``) follow.
    return importer.bind_destination(bound, Path(str(origin.get("destination", ""))))


def with_destination(
    template: Template, destination: str | Path, *, launchpad: Launchpad | None = None
) -> Template:
    """Tell an imported template where it will be written (Copier's ``_folder_name`` ...).

    Call before resolving answers when the output goes to a directory; a
    template that was not imported is returned unchanged.
    """
    importer = importer_of(template, launchpad=launchpad)
    if importer is None:
        return template
    origin = {**template.settings.origin, "destination": str(destination)}
    bound = attrs.evolve(template, settings=attrs.evolve(template.settings, origin=origin))
    return importer.bind_destination(bound, Path(destination))


def load_source(
    source: Path,
    *,
    launchpad: Launchpad,
    trusted: bool,
    skip_tasks: bool = False,
    format: str | None = None,
) -> Template:
    """The template at ``source``; ``format`` (``launchpad`` or an importer's name)
    chooses for a directory that holds more than one kind of template."""
    if source.is_file():
        if format not in (None, "launchpad"):
            raise LoadError(f"{source} is a definition file, not a {format} template")
        from ..model.serialization import structure_template

        return structure_template(read_data(source, launchpad.engine.limits.max_definition_bytes))
    if not source.is_dir():
        raise LoadError(f"not found: {source}")
    if format in (None, "launchpad") and directory_definition(source) is not None:
        return load_directory(source, max_bytes=launchpad.engine.limits.max_definition_bytes)
    if format == "launchpad":
        raise LoadError(f"{source} has no {' or '.join(DIRECTORY_DEFINITIONS)}")
    importers = launchpad.hooks.template_importers()
    if format is not None:
        importers = {format: named_importer(format, launchpad=launchpad)}
    for importer in importers.values():
        if importer.detect(source):
            build = functools.partial(
                load_with, importer, source, trusted=trusted, skip_tasks=skip_tasks
            )
            if launchpad.import_cache_dir is None:
                return build()
            cache = ImportCache(launchpad.import_cache_dir)
            return cache.load(source, importer, trusted=trusted, skip_tasks=skip_tasks, build=build)
    if format is not None:
        raise LoadError(f"{source} is not a {format} template")
    raise LoadError(
        f"{source} has no launchpad.yml and no importer recognises it "
        "(looked for Copier and Cookiecutter templates)"
    )
