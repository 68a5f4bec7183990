"""Sinks: where rendered, checked files end up.

A sink receives RenderedFile values sorted by path and writes them into a
directory, a zip or tar.gz archive (:mod:`.archives`), or nowhere (a manifest only). Each answers
with a WriteReport whose manifest lists the files it wrote. Writes are all or
nothing: a failed run leaves no new file behind. Directory entries (``is_dir``)
become folders (an existing one is fine) or archive directory members; they are
not files, so reports and manifests do not list them. Symbolic links (``symlink``,
their target checked by rendering) become links, zip members with the link's
Unix type, or tar symlink members.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol, TypeAlias

import attrs

from launchpad_core.errors import DestinationError, DestinationExistsError, UnsafePathError
from launchpad_core.model.output import ManifestEntry, RenderedFile
from launchpad_core.render.paths import check_output_path, parent_directories

FILE_MODE = 0o644
DIRECTORY_MODE = 0o755
LINK_MODE = 0o777  # what Linux shows for every symbolic link
PERMISSION_BITS = 0o777  # setuid, setgid and sticky bits are never written
MAX_LISTED_CONFLICTS = 10

Destination: TypeAlias = str | os.PathLike[str] | BinaryIO


@attrs.frozen
class WriteReport:
    """What a sink did: files written and skipped, and a manifest of the written files."""

    written: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    manifest: tuple[ManifestEntry, ...] = ()


class Sink(Protocol):
    """Anything that takes rendered files and writes them somewhere."""

    def write(self, files: Sequence[RenderedFile]) -> WriteReport:
        """Write `files` (checked, sorted by path) and report what was done."""
        ...


def manifest_of(files: Iterable[RenderedFile]) -> tuple[ManifestEntry, ...]:
    """One manifest entry (path, size, sha256, mode) per file; folders are not listed."""
    return tuple(ManifestEntry(f.path, f.size, f.sha256, f.mode) for f in files if not f.is_dir)


def _file_paths(files: Iterable[RenderedFile]) -> tuple[str, ...]:
    return tuple(f.path for f in files if not f.is_dir)


def _permissions(mode: int | None, default: int) -> int:
    return (default if mode is None else mode) & PERMISSION_BITS


def _temp_path_beside(target: Path) -> Path:
    return target.with_name(f".launchpad-{os.urandom(8).hex()}.tmp")


@contextlib.contextmanager
def _destination_errors(where: Path) -> Iterator[None]:
    """Turn an OSError into a DestinationError that says where it happened."""
    try:
        yield
    except OSError as exc:
        raise DestinationError(f"could not write to {where}: {exc}") from exc


@contextlib.contextmanager
def _undo_on_failure() -> Iterator[list[Path]]:
    """Collect paths as they are created; remove them, newest first, if the block fails."""
    created: list[Path] = []
    try:
        yield created
    except BaseException:
        for path in reversed(created):
            with contextlib.suppress(OSError):
                if path.is_dir() and not path.is_symlink():
                    path.rmdir()
                else:
                    path.unlink(missing_ok=True)
        raise


# Directory -----------------------------------------------------------------


def _make_directories(directory: Path, created: list[Path]) -> None:
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir()
        created.append(path)


class _Targets:
    """Where each file goes below `dest`, refusing symlinks and files or
    directories in the way; each parent directory is checked once per write."""

    def __init__(self, dest: Path):
        self.dest = dest
        self.checked: set[str] = set()

    def __call__(self, file: RenderedFile) -> Path:
        rel = check_output_path(file.path, source=file.source)
        for directory in parent_directories(rel):
            if directory not in self.checked:
                self._check_directory(directory, file)
                self.checked.add(directory)
        target = self.dest / rel
        if target.is_symlink() and not file.symlink:  # a link may replace a link
            message = f"output path {rel!r} is a symbolic link in the destination"
            raise UnsafePathError(message, source=file.source)
        if file.is_dir:
            if target.exists() and not target.is_dir():
                message = f"the folder {rel!r} would replace a file"
                raise DestinationError(message, source=file.source)
        elif target.is_dir() and not (file.symlink and target.is_symlink()):
            raise DestinationError(f"{rel!r} would replace a directory", source=file.source)
        return target

    def _check_directory(self, directory: str, file: RenderedFile) -> None:
        path = self.dest / directory
        if path.is_symlink():
            message = f"output path {file.path!r} goes through the symbolic link {path}"
            raise UnsafePathError(message, source=file.source)
        if path.exists() and not path.is_dir():
            message = f"{file.path!r} needs {directory!r} to be a directory, but it is a file"
            raise DestinationError(message, source=file.source)


def _refuse_existing(dest: Path, pending: list[tuple[RenderedFile, Path]]) -> None:
    clashes = [file.path for file, target in pending if not file.is_dir and os.path.lexists(target)]
    if not clashes:
        return
    listed = ", ".join(clashes[:MAX_LISTED_CONFLICTS])
    more = len(clashes) - MAX_LISTED_CONFLICTS
    listed += f" and {more} more" if more > 0 else ""
    raise DestinationExistsError(f"{len(clashes)} file(s) already exist in {dest}: {listed}")


def _stage(file: RenderedFile, target: Path, created: list[Path]) -> Path:
    """Write `file` to a new temporary file beside `target`."""
    _make_directories(target.parent, created)
    temp = _temp_path_beside(target)
    created.append(temp)  # O_EXCL: never reuses or follows an existing name
    _create(temp, file)
    return temp


def _place(temp: Path, target: Path, created: list[Path]) -> None:
    existed = os.path.lexists(target)
    os.replace(temp, target)
    if not existed:
        created.append(target)


def _make_folder(folder: RenderedFile, target: Path, created: list[Path]) -> None:
    """A directory entry's folder; one that exists keeps its mode."""
    before = len(created)
    _make_directories(target, created)
    if folder.mode is not None and len(created) > before:
        target.chmod(_permissions(folder.mode, DIRECTORY_MODE))


def _write_all_or_nothing(dest: Path, pending: list[tuple[RenderedFile, Path]]) -> None:
    with _destination_errors(dest), _undo_on_failure() as created:
        _make_directories(dest, created)
        for folder, target in pending:
            if folder.is_dir:
                _make_folder(folder, target, created)
        staged = [
            (_stage(file, target, created), target) for file, target in pending if not file.is_dir
        ]
        for temp, target in staged:
            _place(temp, target, created)


_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _create(target: Path | str, file: RenderedFile, *, dir_fd: int | None = None) -> None:
    """A new file with ``file``'s bytes and mode (unbuffered: one write call), or a link."""
    if file.symlink:
        os.symlink(file.data.decode("utf-8"), target, dir_fd=dir_fd)
        return
    fd = os.open(target, _CREATE_FLAGS, 0o666, dir_fd=dir_fd)
    try:
        view = memoryview(file.data)
        while view:
            view = view[os.write(fd, view):]
        if file.mode is not None:
            os.fchmod(fd, _permissions(file.mode, FILE_MODE))
    finally:
        os.close(fd)


def _make_fresh_folder(staging: Path, folder: RenderedFile) -> None:
    path = staging / folder.path
    path.mkdir(parents=True, exist_ok=True)
    if folder.mode is not None:
        path.chmod(_permissions(folder.mode, DIRECTORY_MODE))


def _write_fresh(dest: Path, files: Sequence[RenderedFile]) -> None:
    """A destination that does not exist yet: build the tree in a new sibling
    folder and rename it into place, so it appears whole or not at all. Nothing
    in that folder can be in the way, so no file needs checking on its own."""
    with _destination_errors(dest), _undo_on_failure() as created:
        _make_directories(dest.parent, created)
        staging = _temp_path_beside(dest)
        staging.mkdir()
        folders: dict[str, int] = {}  # open folder descriptors: one lookup per file
        try:
            for file in files:
                if file.is_dir:
                    _make_fresh_folder(staging, file)
                    continue
                parent, _, name = file.path.rpartition("/")
                folder = folders.get(parent)
                if folder is None:
                    (staging / parent).mkdir(parents=True, exist_ok=True)
                    folder = folders[parent] = os.open(staging / parent, _FOLDER_FLAGS)
                _create(name, file, dir_fd=folder)
            os.rename(staging, dest)  # fails if a non-empty `dest` appeared meanwhile
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        finally:
            for folder in folders.values():
                os.close(folder)


@attrs.frozen
class DirectorySink:
    """Write files below `dest`: all of them or, on failure, none.

    Existing files are refused unless `overwrite`; files marked skip_if_exists
    are left as they are when they exist. Every file is staged in a temporary
    file first and then moved into place, so a failure before the moves leaves
    `dest` as it was (a dest this run created is removed again). Files replaced
    with `overwrite` before a failure in the final moves are not restored.
    """

    dest: Path = attrs.field(converter=Path)
    overwrite: bool = attrs.field(default=False, kw_only=True)

    def write(self, files: Sequence[RenderedFile]) -> WriteReport:
        dest = self.dest.resolve()
        if not os.path.lexists(dest):
            _write_fresh(dest, files)
            return WriteReport(written=_file_paths(files), manifest=manifest_of(files))
        if not dest.is_dir():
            raise DestinationError(f"the destination {dest} exists and is not a directory")
        target_of = _Targets(dest)
        targets = [(file, target_of(file)) for file in files]
        kept = {file.path for file, target in targets if file.skip_if_exists and target.exists()}
        pending = [(file, target) for file, target in targets if file.path not in kept]
        if not self.overwrite:
            _refuse_existing(dest, pending)
        _write_all_or_nothing(dest, pending)
        written = [file for file, _ in pending]
        return WriteReport(
            written=_file_paths(written),
            skipped=tuple(file.path for file, _ in targets if file.path in kept),
            manifest=manifest_of(written),
        )


# Manifest ------------------------------------------------------------------


@attrs.frozen
class ManifestSink:
    """Write nothing; report the manifest of what would be written."""

    def write(self, files: Sequence[RenderedFile]) -> WriteReport:
        return WriteReport(manifest=manifest_of(files))
