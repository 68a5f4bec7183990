"""The archive formats a job's artifact is kept and downloaded in.

The render child writes the zip alone (see :mod:`launchpad_worker.render`): the
other formats are made from it on their first download
(:func:`~.storage.derive`) and kept beside it, so a job does not pay for an
archive that is seldom asked for. Downloads stream the stored file as is.
"""

from __future__ import annotations

from pathlib import Path

from launchpad_core.render.archives import tar_gz_of_zip

#: Every format a job's artifact is kept in, the default (``?format=``) first: the one
#: the worker writes.
FORMATS = ("zip", "tar.gz")
#: What an update job (:mod:`launchpad_web.updates`) keeps: its patch and its conflicts.
UPDATE_FORMATS = ("patch", "conflicts.json")
MEDIA_TYPES = {"zip": "application/zip", "tar.gz": "application/gzip",
               "patch": "text/x-diff; charset=utf-8", "conflicts.json": "application/json"}


def convert(zipped: Path, fmt: str, target: Path) -> None:
    """Write at ``target`` the archive in ``fmt`` of what the zip ``zipped`` (the render's)
    holds: the one the render would have written, streamed from the zip
    (:func:`~launchpad_core.render.archives.tar_gz_of_zip`)."""
    CONVERSIONS[fmt](zipped, target)


CONVERSIONS = {"tar.gz": tar_gz_of_zip}
