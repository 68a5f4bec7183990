"""Previews: a template rendered in a resource-limited child process, files in memory.

Answers are resolved and files rendered inside the child
(:func:`launchpad_core.isolation.run_isolated`), since answer defaults and
validators are Jinja too. The child builds its own
:class:`~launchpad_core.Launchpad` from the installed plugins (the app's object
cannot be sent to another process), with the limits of
:class:`~launchpad_web.templates.settings.PreviewLimits`.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from typing import Any

from launchpad_core import (
    AnswersError,
    IsolationError,
    Launchpad,
    LaunchpadError,
    Limits,
    RenderedFile,
)
from launchpad_core.isolation import preload, preload_plugins, run_isolated
from launchpad_core.model.template import Template

from ..errors import InvalidAnswersError, RenderFailedError
from .schemas import PreviewFile
from .settings import PreviewLimits

log = logging.getLogger("launchpad_web.templates.preview")


def render_in_child(
    template: Template, given: Mapping[str, Any], limits: Limits
) -> list[RenderedFile]:
    """Runs in the isolated child: resolve ``given`` and render ``template``."""
    launchpad = Launchpad(limits=limits)
    answers = launchpad.resolve_answers(template, given)
    return launchpad.render(template, answers)


class Previewer:
    def __init__(self, limits: PreviewLimits | None = None, *, launchpad: Launchpad | None = None):
        self.limits = limits or PreviewLimits()
        preload(__name__)
        if launchpad is not None:
            preload_plugins(launchpad)

    def render(self, template: Template, given: Mapping[str, Any]) -> list[PreviewFile]:
        """The rendered files, or 422 problems: ``invalid_answers`` (each at
        ``$.answers.<name>``) or the core's or the isolation's error code."""
        try:
            files = run_isolated(
                render_in_child,
                template,
                dict(given),
                self.limits.render,
                limits=self.limits.isolation,
            )
        except AnswersError as exc:
            raise InvalidAnswersError.from_problems(exc.problems, root="$.answers") from None
        except IsolationError as exc:
            if exc.code == "crashed":  # what crashed (a plugin, our code) is for the log
                notes = getattr(exc, "__notes__", [])
                log.error("preview process crashed: %s", exc, extra={"notes": notes})
                exc.message = "the preview failed; it has been logged"
            raise RenderFailedError(exc.message, code=exc.code, source=exc.source) from None
        except LaunchpadError as exc:
            raise RenderFailedError(exc.message, code=exc.code, source=exc.source) from None
        return [preview_file(f) for f in files]


def preview_file(file: RenderedFile) -> PreviewFile:
    if file.is_dir:
        return PreviewFile(path=file.path, content="", encoding="utf-8", size=0, sha256=None,
                           mode=file.mode, kind="directory")
    try:
        content, encoding = file.data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        content, encoding = base64.b64encode(file.data).decode("ascii"), "base64"
    return PreviewFile(
        path=file.path,
        content=content,
        encoding=encoding,
        size=file.size,
        sha256=file.sha256,
        mode=file.mode,
    )
