"""The plugin LaunchPad loads from the ``launchpad`` entry-point group."""

from __future__ import annotations

from collections.abc import Mapping

from launchpad_core import hookimpl

from .forge import GitLab


@hookimpl
def launchpad_forges(settings: Mapping[str, Mapping[str, str]]) -> list[GitLab]:
    mine = settings.get("gitlab") or {}
    return [GitLab.from_settings(mine)] if mine.get("client_id") else []
