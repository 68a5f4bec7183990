"""What runs in the resource-limited child process: definition and answers in, zip out.

Everything crossing the process boundary is plain data. Secret answers arrive
only in ``secrets``; the stored answers hold :data:`REDACTED` in their place.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from launchpad_core import AnswersError, Launchpad, Problem, default_launchpad
from launchpad_core.serialization import structure_template
from launchpad_core.sinks import ZipSink

REDACTED = "***"


@attrs.frozen
class RenderedArchive:
    data: bytes = attrs.field(repr=lambda data: f"<{len(data)} bytes>")
    files: int
    total_bytes: int


def render_archive(
    definition: Mapping[str, Any],
    stored: Mapping[str, Any],
    secrets: Mapping[str, Any],
    cache_dir: str | None = None,
) -> RenderedArchive:
    """The zip of ``definition`` rendered with the stored answers plus ``secrets``."""
    launchpad = _launchpad(cache_dir)
    # Checked when it was saved (the API refuses an invalid definition); rendering
    # enforces every safety rule again, so the child does not validate it twice.
    template = structure_template(dict(definition))
    secret_names = {v.name for v in template.variables if v.secret}
    lost = sorted(n for n in secret_names if stored.get(n) == REDACTED and n not in secrets)
    if lost:
        raise AnswersError(
            "Secret answers are kept only until a worker first takes the job, and this job "
            "had to be restarted; submit it again.",
            [Problem("secret_lost", "the secret answer is no longer available", f"$.{n}")
             for n in lost],
        )
    given = {k: v for k, v in stored.items() if k not in secret_names}
    answers = launchpad.resolve_answers(template, {**given, **secrets})
    files = launchpad.render(template, answers)
    buffer = io.BytesIO()
    ZipSink(buffer).write(files)
    count = sum(not f.is_dir for f in files)  # empty folders are entries, not files
    return RenderedArchive(buffer.getvalue(), count, sum(f.size for f in files))


def _launchpad(cache_dir: str | None) -> Launchpad:
    """The process-wide plugins (built once in the fork server, see :mod:`.preload`) with an
    engine that keeps compiled sources in ``cache_dir``, so a new child skips compiling."""
    base = default_launchpad()
    if cache_dir is None:
        return base
    return Launchpad(plugin_manager=base.hooks.pm, bytecode_cache_dir=Path(cache_dir))
