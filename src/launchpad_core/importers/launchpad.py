"""Default plugin: a LaunchPad template directory (``launchpad.yml`` beside a file tree)
as one definition, the JSON the hosted API takes (``launchpad import launchpad DIR``).

Rendering reads such a directory directly (:func:`launchpad_core.importers.importing.load_source`);
this importer is what turns it into a single file to keep, review or upload.
"""

from __future__ import annotations

from pathlib import Path

from ..model.template import Template
from ..plugins.hookspecs import hookimpl
from ..render.limits import Limits
from ..sources.loading import DIRECTORY_DEFINITIONS, load_directory

FORMAT = "launchpad"


class LaunchpadImporter:
    """Imports a directory with ``launchpad.yml`` (or ``.yaml``, ``.json``)."""

    name = FORMAT

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits()

    def detect(self, path: Path) -> bool:
        return any((path / name).is_file() for name in DIRECTORY_DEFINITIONS)

    def load(self, path: Path, *, trusted: bool) -> Template:
        return load_directory(path, max_bytes=self.limits.max_definition_bytes)

    def bind_destination(self, template: Template, destination: Path) -> Template:
        return template


@hookimpl
def launchpad_template_importers() -> list[LaunchpadImporter]:
    return [LaunchpadImporter()]
