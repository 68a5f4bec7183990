"""Settings of template previews: part of :class:`~launchpad_web.settings.WebSettings`.

A preview renders in a child process (:mod:`launchpad_web.templates.preview`):
``render`` are the core's limits there (they bound the files and bytes of the
response: at most ``max_total_bytes`` of content, base64 adding a third for
binary files), ``isolation`` the child's hard CPU, memory and wall-clock limits.
Not read from the environment; tests and embedders pass other values.
"""

from __future__ import annotations

import attrs

from launchpad_core import Limits
from launchpad_core.isolation import MIB, IsolationLimits

PREVIEW_RENDER_LIMITS = Limits(
    max_files=1000, max_file_bytes=1 * MIB, max_total_bytes=4 * MIB, render_seconds=10.0
)
PREVIEW_ISOLATION_LIMITS = IsolationLimits(
    cpu_seconds=10, memory_bytes=1024 * MIB, wall_seconds=20.0
)


@attrs.frozen
class PreviewLimits:
    """The core's limits inside the preview's child process, and the child's hard limits."""

    render: Limits = PREVIEW_RENDER_LIMITS
    isolation: IsolationLimits = PREVIEW_ISOLATION_LIMITS
