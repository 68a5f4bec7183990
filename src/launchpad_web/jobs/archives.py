"""The archive formats a job's artifact is kept and downloaded in.

The render child writes every format once, while rendering (see
:mod:`launchpad_worker.render`); downloads stream the stored file as is.
"""

from __future__ import annotations

#: Every format a job's artifact is kept in, the default (``?format=``) first.
FORMATS = ("zip", "tar.gz")
#: What an update job (:mod:`launchpad_web.updates`) keeps: its patch and its conflicts.
UPDATE_FORMATS = ("patch", "conflicts.json")
#: Every set of files one artifact key holds (all of one set, saved at once).
STORED_SETS = (FORMATS, UPDATE_FORMATS)
MEDIA_TYPES = {"zip": "application/zip", "tar.gz": "application/gzip",
               "patch": "text/x-diff; charset=utf-8", "conflicts.json": "application/json"}
