"""The plugin LaunchPad loads from the ``launchpad`` entry-point group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from launchpad_core import hookimpl

if TYPE_CHECKING:
    from .forge import GitLab


@hookimpl
def launchpad_forges(settings: Mapping[str, Mapping[str, str]]) -> list[GitLab]:
    mine = settings.get("gitlab") or {}
    if not mine.get("client_id"):
        return []
    # imported when configured: start-up (every command registers plugins) does without
    from .forge import GitLab

    return [GitLab.from_settings(mine)]
