"""The archive formats a job's artifact is kept and downloaded in.

The render child writes every format once, while rendering (see
:mod:`launchpad_worker.render`); downloads stream the stored file as is.
"""

from __future__ import annotations

#: Every format a job's artifact is kept in, the default (``?format=``) first.
FORMATS = ("zip", "tar.gz")
MEDIA_TYPES = {"zip": "application/zip", "tar.gz": "application/gzip"}
