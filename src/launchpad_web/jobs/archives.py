"""Archives served for download: the stored zip as is, or the same files as a tar.gz."""

from __future__ import annotations

import stat
import tempfile
import zipfile
from typing import BinaryIO

from launchpad_core import RenderedFile
from launchpad_core.sinks import TarGzSink

SPOOL_BYTES = 8 * 1024 * 1024
MEDIA_TYPES = {"zip": "application/zip", "tar.gz": "application/gzip"}


def tar_gz_from_zip(source: BinaryIO) -> BinaryIO:
    """The zip's files, links and empty folders as a deterministic tar.gz (the core's sink)."""
    with zipfile.ZipFile(source) as archive:
        files = [
            RenderedFile(info.filename.rstrip("/"), b"", is_dir=True)
            if info.is_dir()
            else RenderedFile(info.filename, archive.read(info),
                              mode=stat.S_IMODE(info.external_attr >> 16) or None,
                              symlink=stat.S_ISLNK(info.external_attr >> 16))
            for info in archive.infolist()
        ]
    target = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (returned open)
    TarGzSink(target).write(files)
    target.seek(0)
    return target
