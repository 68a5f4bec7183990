"""The archive formats a job's artifact is kept and downloaded in.

The render child writes the zip alone (see :mod:`launchpad_worker.render`): the
other formats are made from it on their first download
(:func:`~.storage.derive`) and kept beside it, so a job does not pay for an
archive that is seldom asked for. Downloads stream the stored file as is.
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

from launchpad_core.sinks import ARCHIVE_SINKS, ArchiveEntry

#: Every format a job's artifact is kept in, the default (``?format=``) first: the one
#: the worker writes.
FORMATS = ("zip", "tar.gz")
MEDIA_TYPES = {"zip": "application/zip", "tar.gz": "application/gzip"}


def convert(zipped: Path, fmt: str, target: Path) -> None:
    """Write at ``target`` the archive in ``fmt`` of what the zip ``zipped`` (written by
    :class:`~launchpad_core.sinks.ZipSink`) holds: the same entries, modes and links, so
    the archive is the one the render would have written."""
    with zipfile.ZipFile(zipped) as archive:
        entries = [_entry(archive, info) for info in archive.infolist()]
    ARCHIVE_SINKS[fmt](target).write_entries(entries)


def _entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> ArchiveEntry:
    unix = info.external_attr >> 16
    mode = stat.S_IMODE(unix)
    if info.is_dir():
        return ArchiveEntry(info.filename, mode)
    return ArchiveEntry(info.filename, mode, archive.read(info), symlink=stat.S_ISLNK(unix))
