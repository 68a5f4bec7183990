"""Reading a foreign template's files from disk: bytes, modes, links, a size budget."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from ..errors import LoadError
from ..model.template import FileSpec
from ..render.limits import Limits

if TYPE_CHECKING:
    from .git_checkout import FreshClone


def file_mode(path: Path) -> int:
    """The permission bits Copier and Cookiecutter give the output (``chmod``, ``copymode``).

    Always recorded: without one, a sink's file would take the process umask.
    """
    return stat.S_IMODE(path.stat().st_mode) & 0o777


def process_umask() -> int:
    """This process's umask, read without changing it (Linux), else set and restored."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class TreeReader:
    """Reads files of one template directory, inside it and within a byte budget.

    A plain class (a reader with a running total, not a value): an attrs class costs
    every cold command its definition."""

    def __init__(
        self, root: Path, max_bytes: int | None = None, *, clone: FreshClone | None = None
    ) -> None:
        self.root = root.resolve()
        self.max_bytes = Limits().max_definition_bytes if max_bytes is None else max_bytes
        self.used = 0
        #: Set for a template its tool renders from a fresh Git clone (Copier): modes as
        #: the clone has them instead of the working tree's.
        self.clone = clone
        self._real_dirs: dict[Path, Path] = {}

    def _real(self, path: Path) -> Path:
        """``path.resolve()``, resolving each folder once for the whole tree."""
        if path.is_symlink():
            return path.resolve()
        parent = path.parent
        real_parent = self._real_dirs.get(parent)
        if real_parent is None:
            real_parent = self._real_dirs[parent] = parent.resolve()
        return real_parent / path.name

    def check_inside(self, path: Path) -> None:
        """Refuse a path (a symbolic link, typically) that resolves outside the template."""
        if not self._real(path).is_relative_to(self.root):
            shown = path.relative_to(self.root) if path.is_relative_to(self.root) else path
            raise LoadError(f"{shown} links outside the template directory", source=str(path))

    def read(self, path: Path) -> bytes:
        self.check_inside(path)
        data = path.read_bytes()
        self.used += len(data)
        if self.used > self.max_bytes:
            raise LoadError(f"the template is over {self.max_bytes:,} bytes", source=str(self.root))
        return data

    def mode(self, path: Path) -> int:
        """The mode the output of ``path`` gets (:func:`file_mode`, or the clone's)."""
        return file_mode(path) if self.clone is None else self.clone.mode(path)

    def raw_file(self, path: Path, out: str) -> FileSpec:
        """A file copied byte for byte (never rendered) with its mode."""
        spec = FileSpec.from_bytes(out, self.read(path), mode=self.mode(path))
        return spec if spec.is_binary else attrs.evolve(spec, render=False)

    def text(self, path: Path) -> str:
        """A template file's text, read as Jinja's file loader reads it (strict UTF-8)."""
        data = self.read(path)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LoadError(
                f"{path.relative_to(self.root)} is a template but not UTF-8 text ({exc.reason})",
                source=str(path),
            ) from None
