"""The tar.gz served for a stored zip holds the same members, symbolic links too."""

from __future__ import annotations

import io
import tarfile

from launchpad_core import RenderedFile
from launchpad_core.sinks import ZipSink
from launchpad_web.jobs.archives import tar_gz_from_zip


def test_a_zip_becomes_the_same_tar_gz():
    files = [
        RenderedFile("README.md", b"# x\n", mode=0o644),
        RenderedFile("README.rst", b"README.md", symlink=True),
        RenderedFile("bin/run", b"#!/bin/sh\n", mode=0o755),
        RenderedFile("empty", b"", is_dir=True),
    ]
    stored = io.BytesIO()
    ZipSink(stored).write(files)
    stored.seek(0)
    with tarfile.open(fileobj=tar_gz_from_zip(stored)) as archive:
        members = {m.name: m for m in archive.getmembers()}
        assert members["README.rst"].issym() and members["README.rst"].linkname == "README.md"
        assert archive.extractfile("README.md").read() == b"# x\n"
        assert members["bin/run"].mode == 0o755
        assert members["empty"].isdir()
