"""The sink of each output format (:func:`make_sink`), the archive ones imported on first
use: a render into a folder defines no archive class (:mod:`.archives`)."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import DestinationError
from .sinks import Destination, DirectorySink, ManifestSink, Sink


def _archive_sink(format: str) -> Callable[[Destination, bool], Sink]:
    def make(dest: Destination, overwrite: bool) -> Sink:
        from .archives import ARCHIVE_SINKS

        return ARCHIVE_SINKS[format](dest, overwrite=overwrite)

    return make


SINK_FORMATS: dict[str, Callable[[Destination, bool], Sink]] = {
    "dir": lambda dest, overwrite: DirectorySink(dest, overwrite=overwrite),  # type: ignore[arg-type]
    "zip": _archive_sink("zip"),
    "tar.gz": _archive_sink("tar.gz"),
    "manifest": lambda dest, overwrite: ManifestSink(),
}


def make_sink(format: str, dest: Destination | None = None, *, overwrite: bool = False) -> Sink:
    """The sink for an output format: 'dir', 'zip', 'tar.gz' or 'manifest'."""
    if format not in SINK_FORMATS:
        known = ", ".join(sorted(SINK_FORMATS))
        raise DestinationError(f"unknown output format {format!r}; choose one of {known}")
    if dest is None and format != "manifest":
        raise DestinationError(f"the {format!r} output format needs a destination")
    return SINK_FORMATS[format](dest, overwrite)
