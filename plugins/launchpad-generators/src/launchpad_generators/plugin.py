"""The plugin LaunchPad loads from the ``launchpad`` entry-point group.

Every ``launchpad`` command loads it, most never render a generated file: the
generators are imported when LaunchPad first asks for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from launchpad_core import hookimpl

if TYPE_CHECKING:
    from launchpad_core.plugins.generators import FileGenerator


@hookimpl
def launchpad_file_generators() -> list[FileGenerator]:
    from . import editorconfig, github_actions, gitignore, license

    return [
        license.GENERATOR,
        gitignore.GENERATOR,
        editorconfig.GENERATOR,
        github_actions.GENERATOR,
    ]


def spdx_name(spdx: str) -> str:
    """Jinja filter: :func:`launchpad_generators.license.spdx_name`, imported on first use."""
    from .license import spdx_name as full_name

    return full_name(spdx)


@hookimpl
def launchpad_jinja_filters() -> Mapping[str, Callable[..., Any]]:
    return {"spdx_name": spdx_name}
