"""Keeping imported (Copier, Cookiecutter) templates between CLI runs.

Importing reads and decodes every file of a foreign template: a quarter of a
warm render of 2,000 files. :class:`ImportCache` keeps the resulting
:class:`~launchpad_core.model.template.Template` in one pickle per source
directory, keyed by a fingerprint of the tree taken with ``lstat`` alone:
every entry's relative path, type, mode, size, modification and change times
(nanoseconds), plus the importer, the trust flag, the process umask (a Git
template's modes are a fresh clone's, which the umask decides) and the
versions of Python, LaunchPad and the importer's module. Any edit, addition, removal or rename in
the tree changes the fingerprint; an edit that keeps a file's size and both
nanosecond times is not seen (the same trade-off ``make`` and ``git status``
make).

The pickle is written by this process into the user's own cache directory
and read back only from there; a damaged or foreign file is ignored and
replaced.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from collections.abc import Callable
from pathlib import Path

from .. import __version__
from ..model.template import Template
from .source_tree import process_umask

#: Bumped when imports change shape (3: FileSpec.symlink, extension modules, skipped tasks;
#: 4: skipped .git, Copier's _commit, modes of a fresh clone; 5: Copier's _exclude in origin).
_FORMAT = b"launchpad-import-5\n"


def tree_fingerprint(root: Path) -> bytes:
    """A digest of every entry's name, type, mode, size and times below ``root``."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        for name in (*dirnames, *sorted(filenames)):
            st = os.lstat(os.path.join(dirpath, name))
            digest.update(
                f"{rel}/{name}\0{st.st_mode}\0{st.st_size}\0{st.st_mtime_ns}\0"
                f"{st.st_ctime_ns}\n".encode("utf-8", "surrogateescape")
            )
    return digest.digest()


class ImportCache:
    """Imported templates on disk, one file per source directory."""

    def __init__(self, directory: Path):
        self.directory = directory

    def load(
        self,
        source: Path,
        importer: object,
        *,
        trusted: bool,
        build: Callable[[], Template],
        skip_tasks: bool = False,
    ) -> Template:
        """The cached import of ``source``, or ``build()``'s result, then cached."""
        root = source.resolve()
        module = sys.modules.get(type(importer).__module__)
        key_parts = (
            sys.implementation.cache_tag,
            __version__,
            type(importer).__module__,
            type(importer).__qualname__,
            str(getattr(module, "__file__", "")),
            str(trusted),
            str(skip_tasks),
            oct(process_umask()),
            str(root),
        )
        key = hashlib.sha256("\0".join(key_parts).encode("utf-8", "surrogateescape"))
        path = self.directory / f"{key.hexdigest()}.pickle"
        fingerprint = tree_fingerprint(root)
        cached = self._read(path, fingerprint)
        if cached is not None:
            return cached
        template = build()
        if tree_fingerprint(root) == fingerprint:  # unchanged while it was read
            self._write(path, fingerprint, template)
        return template

    @staticmethod
    def _read(path: Path, fingerprint: bytes) -> Template | None:
        try:
            data = path.read_bytes()
        except OSError:
            return None
        head = _FORMAT + fingerprint
        if not data.startswith(head):
            return None
        try:
            template = pickle.loads(data[len(head) :])
        except Exception:  # a damaged file is built again and replaced
            return None
        return template if isinstance(template, Template) else None

    def _write(self, path: Path, fingerprint: bytes, template: Template) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(_FORMAT + fingerprint + pickle.dumps(template, protocol=5))
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written only costs time
