"""Importing foreign templates (Copier, Cookiecutter ...) as LaunchPad templates.

Importers are plugins: each answers ``launchpad_template_importers`` with
:class:`TemplateImporter` objects; the built-in ones live in
:mod:`launchpad_core.importers`. An imported template is an ordinary
:class:`~launchpad_core.model.template.Template`; what only its importer
understands sits in ``settings.origin`` and is read back by the importer's
``launchpad_render_context`` hook.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import attrs

from .errors import DefinitionError, LoadError
from .model.template import Template

if TYPE_CHECKING:
    from .runtime import Launchpad


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
        with :class:`~launchpad_core.errors.UntrustedCodeError`.
        """
        ...

    def bind_destination(self, template: Template, destination: Path) -> Template:
        """The template with what the format knows of its output directory (folder name ...)."""
        ...


def _launchpad(launchpad: Launchpad | None) -> Launchpad:
    from .runtime import default_launchpad

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


def import_template(
    path: str | Path,
    format: str | None = None,
    *,
    trusted: bool = False,
    launchpad: Launchpad | None = None,
) -> Template:
    """Import the template at ``path`` with the importer named ``format`` (or detected).

    The result is checked like any definition (but for the syntax of templates
    that load Jinja extensions); a problem raises
    :class:`~launchpad_core.errors.LoadError` or
    :class:`~launchpad_core.errors.DefinitionError`.
    """
    lp = _launchpad(launchpad)
    importers = template_importers(lp)
    if format is None:
        importer = detect_importer(path, launchpad=lp)
        if importer is None:
            known = ", ".join(sorted(importers))
            raise LoadError(f"{path} is not a template any importer recognises ({known})")
    elif format in importers:
        importer = importers[format]
    else:
        raise LoadError(f"no importer named {format!r} (known: {', '.join(sorted(importers))})")
    if not Path(path).is_dir():
        raise LoadError(f"not found: {path}" if not Path(path).exists() else
                        f"{path} is not a directory")
    if not importer.detect(Path(path)):
        raise LoadError(_not_theirs(Path(path), importer.name, lp))
    template = importer.load(Path(path), trusted=trusted)
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
