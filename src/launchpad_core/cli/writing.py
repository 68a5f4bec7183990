"""Writing a render's files to its destination, as the commands report it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import DestinationExistsError

if TYPE_CHECKING:
    from ..model.output import RenderedFile
    from ..render.sinks import Sink, WriteReport


def write_files(sink: Sink, files: list[RenderedFile]) -> WriteReport:
    try:
        return sink.write(files)
    except DestinationExistsError as exc:
        raise DestinationExistsError(f"{exc.message}; add --force to overwrite") from None
