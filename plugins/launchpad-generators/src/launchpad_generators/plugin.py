"""The plugin LaunchPad loads from the ``launchpad`` entry-point group."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from launchpad_core import hookimpl
from launchpad_core.plugins.generators import FileGenerator

from . import editorconfig, github_actions, gitignore, license


@hookimpl
def launchpad_file_generators() -> list[FileGenerator]:
    return [
        license.GENERATOR,
        gitignore.GENERATOR,
        editorconfig.GENERATOR,
        github_actions.GENERATOR,
    ]


@hookimpl
def launchpad_jinja_filters() -> Mapping[str, Callable[..., Any]]:
    return {"spdx_name": license.spdx_name}
