"""What runs in the resource-limited child process: definition and answers in, archives out.

The child writes the project once in each archive format of ``targets`` (format
to path: the worker asks for the zip alone, see
:mod:`launchpad_web.jobs.archives`), each streamed to a file of the worker's
staging folder; the worker moves them into storage. Everything crossing the
process boundary is plain
data. Secret answers arrive only in ``secrets``; the stored answers hold
:data:`~launchpad_web.jobs.models.REDACTED` in their place.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from launchpad_core import AnswersError, Launchpad, Problem, RenderedFile, default_launchpad
from launchpad_core.model.serialization import structure_template
from launchpad_core.render.archives import ARCHIVE_SINKS, archive_entries
from launchpad_core.render.compile_cache import DEFAULT_MAX_BYTES
from launchpad_core.render.rendering import Progress
from launchpad_web.jobs.models import REDACTED, progress_of

MAX_PATH_SHOWN = 300  # characters of a template path kept in a job's progress


@attrs.frozen
class CompiledCache:
    """Where a child keeps compiled sources, so a new child skips compiling."""

    directory: str
    max_bytes: int = DEFAULT_MAX_BYTES


@attrs.frozen
class RenderedArchive:
    files: int
    total_bytes: int
    template_files: int = 0  # the template's files, done: where the progress ends


@attrs.frozen
class ProgressFile:
    """Where the child tells how far the render is: a JSON file of
    :func:`~launchpad_web.jobs.models.progress_of`'s fields, replaced at most every
    ``seconds`` (none for a render quicker than that); the worker reads it
    (:func:`read_progress`) and stores it."""

    path: str
    seconds: float

    def reporter(self) -> Progress:
        last = time.monotonic()

        def report(done: int, total: int, path: str, size: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last < self.seconds:
                return
            last = now
            written = f"{self.path}.new"
            with open(written, "w", encoding="utf-8") as stream:
                json.dump(progress_of(done, total, path, size), stream)
            os.replace(written, self.path)

        return report


def read_progress(path: Path) -> dict[str, Any] | None:
    """The child's last report in ``path``, checked; None when there is none (yet)."""
    try:
        stored = json.loads(path.read_text("utf-8"))
        files, total, size, where = (stored["files"], stored["total"], stored["bytes"],
                                     stored["path"])
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not (all(type(n) is int and n >= 0 for n in (files, total, size))
            and files <= total and isinstance(where, str)):
        return None
    return progress_of(files, total, where[:MAX_PATH_SHOWN], size)


def render_archive(
    definition: Mapping[str, Any],
    stored: Mapping[str, Any],
    secrets: Mapping[str, Any],
    targets: Mapping[str, str],
    *,
    cache: CompiledCache | None = None,
    progress: ProgressFile | None = None,
) -> RenderedArchive:
    """``definition`` rendered with the stored answers plus ``secrets``, written as an
    archive of each format of ``targets`` to its path; how far it is, to ``progress``."""
    launchpad = _launchpad(cache)
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
    files = launchpad.render(template, answers,
                             progress=None if progress is None else progress.reporter())
    write_archives(files, targets)
    count = sum(not f.is_dir for f in files)  # empty folders are entries, not files
    return RenderedArchive(count, sum(f.size for f in files), len(template.files))


def write_archives(files: Sequence[RenderedFile], targets: Mapping[str, str]) -> None:
    """One archive of ``files`` per format of ``targets``, streamed to its (new) path; the
    entries (paths checked, folders added) are made once for all formats."""
    entries = archive_entries(files)
    for fmt, path in targets.items():
        ARCHIVE_SINKS[fmt](Path(path)).write_entries(entries)


def _launchpad(cache: CompiledCache | None) -> Launchpad:
    """The process-wide plugins (built once in the fork server, see :mod:`.preload`) with an
    engine that keeps compiled sources in the ``cache`` folder, within its bound."""
    base = default_launchpad()
    if cache is None:
        return base
    return Launchpad(plugin_manager=base.hooks.pm, bytecode_cache_dir=Path(cache.directory),
                     bytecode_cache_bytes=cache.max_bytes)
