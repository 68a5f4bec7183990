"""Sinks: where rendered, checked files end up.

A sink receives RenderedFile values sorted by path and writes them into a
directory, a zip or tar.gz archive, or nowhere (a manifest only). Each answers
with a WriteReport whose manifest lists the files it wrote. Writes are all or
nothing: a failed run leaves no new file behind. Directory entries (``is_dir``)
become folders (an existing one is fine) or archive directory members; they are
not files, so reports and manifests do not list them. Symbolic links (``symlink``,
their target checked by rendering) become links, zip members with the link's
Unix type, or tar symlink members.
"""

from __future__ import annotations

import abc
import contextlib
import io
import os
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, TypeAlias

import attrs

from launchpad_core.errors import DestinationError, DestinationExistsError, UnsafePathError
from launchpad_core.model.output import ManifestEntry, RenderedFile
from launchpad_core.render.paths import check_output_path, parent_directories

if TYPE_CHECKING:
    import tarfile
    import zipfile

FILE_MODE = 0o644
DIRECTORY_MODE = 0o755
LINK_MODE = 0o777  # what Linux shows for every symbolic link
PERMISSION_BITS = 0o777  # setuid, setgid and sticky bits are never written
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
TAR_MTIME = 315_532_800  # 1980-01-01T00:00:00Z, the instant the zip entries carry
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


# Archives ------------------------------------------------------------------


@attrs.frozen
class ArchiveEntry:
    """One archive member: a directory (name ends in '/', no data), a file, or a
    symbolic link (``data`` is its target)."""

    name: str
    mode: int
    data: bytes | None = attrs.field(default=None, repr=False)
    symlink: bool = False

    @property
    def is_directory(self) -> bool:
        return self.data is None


def archive_entries(files: Iterable[RenderedFile]) -> list[ArchiveEntry]:
    """The files and folders plus an entry for every directory they lie in, sorted by name."""
    entries: dict[str, ArchiveEntry] = {}
    for file in files:
        path = check_output_path(file.path, source=file.source)
        for directory in parent_directories(path):
            entries.setdefault(directory + "/", ArchiveEntry(directory + "/", DIRECTORY_MODE))
        if file.is_dir:
            name = path + "/"
            entries[name] = ArchiveEntry(name, _permissions(file.mode, DIRECTORY_MODE))
        elif file.symlink:
            entries[path] = ArchiveEntry(path, LINK_MODE, file.data, symlink=True)
        else:
            entries[path] = ArchiveEntry(path, _permissions(file.mode, FILE_MODE), file.data)
    return [entries[name] for name in sorted(entries)]


def _replace_atomically(target: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write a temporary file beside `target`, then move it over `target`."""
    with _destination_errors(target), _undo_on_failure() as created:
        temp = _temp_path_beside(target)
        with open(temp, "xb") as stream:
            created.append(temp)
            write(stream)
        os.replace(temp, target)


def _as_target(target: Destination) -> Path | BinaryIO:
    return Path(target) if isinstance(target, str | os.PathLike) else target


@attrs.frozen
class _ArchiveSink(abc.ABC):
    """Write every file into one archive at a path (atomically) or into a stream."""

    target: Path | BinaryIO = attrs.field(converter=_as_target)
    overwrite: bool = attrs.field(default=False, kw_only=True)

    def write(self, files: Sequence[RenderedFile]) -> WriteReport:
        self.write_entries(archive_entries(files))
        return WriteReport(written=_file_paths(files), manifest=manifest_of(files))

    def write_entries(self, entries: list[ArchiveEntry]) -> None:
        """Write the archive of ``entries`` (from :func:`archive_entries`): one list serves
        several archives of the same files, and no manifest is made."""
        if isinstance(self.target, Path):
            self._check_target(self.target)
            _replace_atomically(self.target, lambda stream: self._write_entries(stream, entries))
        else:
            self._write_entries(self.target, entries)

    def _check_target(self, target: Path) -> None:
        if target.is_dir():
            raise DestinationError(f"{target} is a directory, not an archive file")
        if target.exists() and not self.overwrite:
            raise DestinationExistsError(f"{target} already exists")

    @abc.abstractmethod
    def _write_entries(self, stream: BinaryIO, entries: list[ArchiveEntry]) -> None:
        """Write the archive for `entries` to `stream`."""


def _zip_info(entry: ArchiveEntry) -> zipfile.ZipInfo:
    import zipfile  # with zlib, only for zip output

    info = zipfile.ZipInfo(entry.name, date_time=ZIP_DATE_TIME)
    info.create_system = 3  # Unix, so that external_attr carries the mode
    kind = stat.S_IFDIR if entry.is_directory else stat.S_IFLNK if entry.symlink else stat.S_IFREG
    info.external_attr = (kind | entry.mode) << 16
    if entry.is_directory:
        info.external_attr |= 0x10  # MS-DOS directory flag
        info.CRC = 0
    else:
        info.compress_type = zipfile.ZIP_DEFLATED
    return info


@attrs.frozen
class ZipSink(_ArchiveSink):
    """A deterministic zip: sorted entries, fixed 1980-01-01 timestamps, Unix modes."""

    def _write_entries(self, stream: BinaryIO, entries: list[ArchiveEntry]) -> None:
        import zipfile

        with zipfile.ZipFile(stream, "w") as archive:
            for entry in entries:
                if entry.data is None:
                    archive.mkdir(_zip_info(entry))
                else:
                    archive.writestr(_zip_info(entry), entry.data)


def _tar_info(entry: ArchiveEntry) -> tarfile.TarInfo:
    if entry.data is None:
        return _tar_header(entry.name, entry.mode, directory=True)
    if entry.symlink:
        return _tar_header(entry.name, entry.mode, link=entry.data.decode("utf-8"))
    return _tar_header(entry.name, entry.mode, size=len(entry.data))


def _tar_header(name: str, mode: int, *, directory: bool = False, link: str | None = None,
                size: int = 0) -> tarfile.TarInfo:
    import tarfile  # with gzip, only for tar.gz output

    info = tarfile.TarInfo(name)
    info.mode = mode
    info.mtime = TAR_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if directory:
        info.type = tarfile.DIRTYPE
    elif link is not None:
        info.type = tarfile.SYMTYPE
        info.linkname = link
    else:
        info.size = size
    return info


GZIP_LEVEL = 6


@attrs.frozen
class TarGzSink(_ArchiveSink):
    """A deterministic tar.gz: sorted entries, fixed mtime, owner 0, no name in the gzip header."""

    def _write_entries(self, stream: BinaryIO, entries: list[ArchiveEntry]) -> None:
        with _tar_gz(stream) as archive:
            for entry in entries:
                data = None if entry.data is None or entry.symlink else io.BytesIO(entry.data)
                archive.addfile(_tar_info(entry), data)


@contextlib.contextmanager
def _tar_gz(stream: BinaryIO) -> Iterator[tarfile.TarFile]:
    """A PAX tar writing into one gzip member on ``stream`` (no name, mtime 0)."""
    import gzip
    import tarfile

    # Level 6, as gzip(1) and the zip's deflate: Python's default 9 cost 50% more
    # CPU (17 ms against 11.3 for the 200-file benchmark template, whose render
    # is 12.5) for an archive 11% smaller.
    packed = gzip.GzipFile(filename="", mode="wb", fileobj=stream, mtime=0,
                           compresslevel=GZIP_LEVEL)
    with packed, tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as archive:
        yield archive


#: The archive sinks by format.
ARCHIVE_SINKS: dict[str, Callable[[Destination], _ArchiveSink]] = {
    "zip": ZipSink, "tar.gz": TarGzSink}


def tar_gz_of_zip(zipped: Path, target: Path) -> None:
    """Write at ``target`` (atomically) the tar.gz that :class:`TarGzSink` writes for what
    the zip ``zipped`` (written by :class:`ZipSink`) holds, byte for byte: the same entries,
    modes and links, each file streamed from the zip (memory stays small, whatever the
    size). It costs inflating the zip and deflating it again."""
    _replace_atomically(target, lambda stream: _write_tar_gz_of_zip(stream, zipped))


def _write_tar_gz_of_zip(stream: BinaryIO, zipped: Path) -> None:
    import zipfile

    with zipfile.ZipFile(zipped) as source, _tar_gz(stream) as archive:
        for info in source.infolist():
            unix = info.external_attr >> 16
            mode = stat.S_IMODE(unix)
            if info.is_dir():
                archive.addfile(_tar_header(info.filename, mode, directory=True))
            elif stat.S_ISLNK(unix):
                link = source.read(info).decode("utf-8")
                archive.addfile(_tar_header(info.filename, mode, link=link))
            else:
                with source.open(info) as data:
                    archive.addfile(_tar_header(info.filename, mode, size=info.file_size), data)


# Manifest and choice of sink -----------------------------------------------


@attrs.frozen
class ManifestSink:
    """Write nothing; report the manifest of what would be written."""

    def write(self, files: Sequence[RenderedFile]) -> WriteReport:
        return WriteReport(manifest=manifest_of(files))


SINK_FORMATS: dict[str, Callable[[Destination, bool], Sink]] = {
    "dir": lambda dest, overwrite: DirectorySink(dest, overwrite=overwrite),  # type: ignore[arg-type]
    "zip": lambda dest, overwrite: ZipSink(dest, overwrite=overwrite),
    "tar.gz": lambda dest, overwrite: TarGzSink(dest, overwrite=overwrite),
    "manifest": lambda dest, overwrite: ManifestSink(),
}


def make_sink(format: str, dest: Destination | None = None, *, overwrite: bool = False) -> Sink:
    """The sink for an output format: 'dir', 'zip', 'tar.gz' or 'manifest'."""
    if format not in SINK_FORMATS:
        known = ", ".join(sorted(SINK_FORMATS))
        raise DestinationError(f"unknown output format {format!r}; choose one of {known}")
    if dest is None and format != "manifest":
        raise DestinationError(f"the {format!r} output format needs a destination")
    return SINK_FORMATS[format](dest, overwrite)
