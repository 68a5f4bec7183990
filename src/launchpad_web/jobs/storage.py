"""Where artifacts (the archives jobs produce) are kept.

:class:`ArtifactStorage` is the interface the worker writes through and the API
reads through; :class:`LocalArtifactStorage`, a directory (by default
``DATA_DIR/artifacts``), is the one built in, and
:class:`~.object_storage.S3ArtifactStorage` keeps them in an S3-compatible
bucket (chosen by :func:`make_storage` when ``LAUNCHPAD_ARTIFACT_BUCKET`` is set).

An artifact is one key, ``<job id>/<attempt token>``, chosen by the worker (two
workers racing for one job never write the same one; the loser deletes its
own), holding one file per format of :data:`~.archives.FORMATS`. The render
child writes the zip into a folder of :meth:`~ArtifactStorage.staging` (on the
same file system); :meth:`~ArtifactStorage.save` moves it into one new folder
there and renames that folder to its key, so a key appears whole or not at
all. The other formats are made from the zip on their first download
(:func:`derive`) and added to the key (:meth:`~ArtifactStorage.add`). Staging
folders left by a killed worker are removed by
:meth:`~ArtifactStorage.purge_staging` (the sweeper).

An update job's key holds its patch and its conflicts instead
(:data:`~.archives.UPDATE_FORMATS`), saved the same way.

Jobs stored before both formats were kept have a key ``<job id>/<token>.zip``
naming the zip alone: :func:`artifact_formats` tells.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol, TypeVar

import attrs

from .archives import FORMATS, UPDATE_FORMATS, convert
from .settings import JobSettings

T = TypeVar("T")
_JOB = re.compile(r"[0-9a-f-]{36}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_KEY = re.compile(r"[0-9a-f-]{36}/[A-Za-z0-9_-]{1,64}(\.zip)?")
_LEGACY_SUFFIX = ".zip"
STAGING = ".staging"  # beside the job folders; never a job id
_CHUNK = 1024 * 1024


@attrs.frozen
class StoredArtifact:
    """A saved artifact: its key, and the size and sha256 of its zip (shown to clients)."""

    key: str
    size: int
    sha256: str


class ArtifactStorage(Protocol):
    def staging(self) -> contextlib.AbstractContextManager[Path]:
        """A new empty folder on the storage's file system to write archives into;
        removed, with whatever :meth:`save` did not take, when the block ends."""
        ...

    def save(self, key: str, files: Mapping[str, Path]) -> StoredArtifact:
        """Move ``{format: path}`` (the zip, and any other of ``FORMATS``) under ``key``
        atomically: readers see all of them or none."""
        ...

    def add(self, key: str, fmt: str, path: Path) -> None:
        """Move the archive at ``path`` under the stored ``key`` as its ``fmt`` (made from
        its zip: the same either way, so two downloads adding it at once are fine);
        :class:`FileNotFoundError` when ``key`` is gone."""
        ...

    def open(self, key: str, fmt: str) -> BinaryIO:
        """The stored archive in ``fmt``, an open file to stream (its length:
        :func:`stream_length`); :class:`FileNotFoundError` when it is gone (or ``key``
        was never stored in ``fmt``)."""
        ...

    def download_url(self, key: str, fmt: str, filename: str) -> str | None:
        """A short-lived URL clients download the archive from directly, saved as
        ``filename``; None to stream it through :meth:`open`. :class:`FileNotFoundError`
        as :meth:`open`."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key`` in every format; nothing happens when it is already gone."""
        ...

    def listing(self) -> Iterator[tuple[str, datetime]]:
        """Every stored key and when it was written."""
        ...

    def purge_staging(self, older_than: datetime) -> list[str]:
        """Remove staging folders last written before ``older_than``; their names."""
        ...


def make_storage(settings: JobSettings) -> ArtifactStorage:
    """The bucket when one is set, else the local folder (which stages renders either way)."""
    if settings.bucket is None:
        return LocalArtifactStorage(settings.artifact_dir)
    from .object_storage import S3ArtifactStorage  # boto3: the ``s3`` extra

    return S3ArtifactStorage.from_settings(settings.bucket, settings.artifact_dir)


def stream_length(stream: BinaryIO) -> int:
    """The length of a stream from :meth:`ArtifactStorage.open`: an object's, or a file's."""
    length = getattr(stream, "length", None)
    return os.fstat(stream.fileno()).st_size if length is None else length


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError(f"not an artifact key: {key!r}")
    return key


def check_formats(key: str, files: Mapping[str, Path]) -> None:
    """``files`` are a job's archives (its zip, and other formats of :data:`~.archives.FORMATS`
    the worker made) or an update's patch and conflicts (every one of
    :data:`~.archives.UPDATE_FORMATS`), under a key without a suffix."""
    names = set(files)
    archives = FORMATS[0] in names and names <= set(FORMATS)
    if not (archives or names == set(UPDATE_FORMATS)) or key.endswith(_LEGACY_SUFFIX):
        raise ValueError(f"an artifact is saved as a {FORMATS[0]} (and other formats of "
                         f"{FORMATS}) or as every format of {UPDATE_FORMATS}, under a key "
                         f"without a suffix, got {sorted(files)} for {key!r}")


def primary_format(files: Mapping[str, Path]) -> str:
    """The file a :class:`StoredArtifact`'s size and sha256 describe: the zip, or the
    patch of an update."""
    return "zip" if "zip" in files else "patch"


def open_archive(storage: ArtifactStorage, key: str, fmt: str) -> BinaryIO:
    """:meth:`ArtifactStorage.open`, making the archive from the zip first when it is not
    made yet (:func:`derive`)."""
    return with_derived(storage, key, fmt, lambda: storage.open(key, fmt))


def with_derived(storage: ArtifactStorage, key: str, fmt: str, use: Callable[[], T]) -> T:
    """``use()`` of the ``fmt`` archive of ``key``; when that finds none, the archive is
    made from the zip (:func:`derive`) and used then. :class:`FileNotFoundError` when
    neither is there."""
    try:
        return use()
    except FileNotFoundError:
        derive(storage, key, fmt)
        return use()


def derive(storage: ArtifactStorage, key: str, fmt: str) -> None:
    """Make the ``fmt`` archive of ``key`` from its zip and add it to the key (a format the
    worker did not write: see :mod:`.archives`); :class:`FileNotFoundError` when the key or
    its zip is gone, or ``key`` was stored before other formats were kept."""
    if fmt not in artifact_formats(key) or fmt == FORMATS[0]:
        raise FileNotFoundError(f"{key} is not stored as {fmt}")
    with storage.staging() as folder:
        zipped, made = folder / "artifact.zip", folder / f"artifact.{fmt}"
        with storage.open(key, FORMATS[0]) as source, open(zipped, "wb") as copy:
            shutil.copyfileobj(source, copy, _CHUNK)
        convert(zipped, fmt, made)
        storage.add(key, fmt, made)


def file_name(key: str, fmt: str) -> str:
    """Where ``fmt`` of ``key`` is kept below the root: ``<key>/artifact.<fmt>``, or the
    key itself for a job stored before; :class:`FileNotFoundError` for a format it lacks."""
    check_key(key)
    legacy = key.endswith(_LEGACY_SUFFIX)
    if fmt not in artifact_formats(key) and (legacy or fmt not in UPDATE_FORMATS):
        raise FileNotFoundError(f"{key} is not stored as {fmt}")
    return key if key.endswith(_LEGACY_SUFFIX) else f"{key}/artifact.{fmt}"


def sha256_of(path: Path) -> str:
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def artifact_key(job_id: object, token: str) -> str:
    return f"{job_id}/{token}"


def artifact_formats(key: str) -> tuple[str, ...]:
    """The formats stored under ``key``: all, or the zip alone for a job stored before."""
    return ("zip",) if key.endswith(_LEGACY_SUFFIX) else FORMATS


class LocalArtifactStorage:
    """Artifacts as folders (``<job id>/<token>/artifact.<format>``) under one directory."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _file(self, key: str, fmt: str) -> Path:
        return self.root / file_name(key, fmt)

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        folder = self.root / STAGING / secrets.token_hex(8)
        folder.mkdir(parents=True)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def save(self, key: str, files: Mapping[str, Path]) -> StoredArtifact:
        check_formats(key, files)
        target = self._path(key)
        with self.staging() as pack:
            for fmt, path in files.items():
                os.replace(path, pack / f"artifact.{fmt}")
                _fsync(pack / f"artifact.{fmt}")
            _fsync(pack)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(pack, target)  # the folder, with every format, appears at once
            _fsync(target.parent)
        primary = self._file(key, primary_format(files))
        return StoredArtifact(key, primary.stat().st_size, sha256_of(primary))

    def add(self, key: str, fmt: str, path: Path) -> None:
        target = self._file(key, fmt)
        _fsync(path)
        os.replace(path, target)  # FileNotFoundError once the key's folder is gone
        _fsync(target.parent)

    def open(self, key: str, fmt: str) -> BinaryIO:
        return open(self._file(key, fmt), "rb")

    def download_url(self, key: str, fmt: str, filename: str) -> str | None:
        return None

    def delete(self, key: str) -> None:
        path = self._path(key)
        if key.endswith(_LEGACY_SUFFIX):
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(OSError):  # other attempts' artifacts remain there
            path.parent.rmdir()

    def listing(self) -> Iterator[tuple[str, datetime]]:
        for job in _entries(self.root):
            if not (_JOB.fullmatch(job.name) and job.is_dir()):
                continue
            for entry in _entries(Path(job.path)):
                token = entry.name.removesuffix(_LEGACY_SUFFIX)
                legacy = token != entry.name
                if _TOKEN.fullmatch(token) and (entry.is_file() if legacy else entry.is_dir()):
                    yield f"{job.name}/{entry.name}", _written(entry.stat().st_mtime)

    def purge_staging(self, older_than: datetime) -> list[str]:
        purged = []
        for entry in _entries(self.root / STAGING):
            folder = Path(entry.path)
            written = _last_written(folder)
            if written is not None and written < older_than:
                shutil.rmtree(folder, ignore_errors=True)
                purged.append(entry.name)
        return purged


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except FileNotFoundError:
        return []


def _written(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _last_written(folder: Path) -> datetime | None:
    """The newest change to ``folder`` or a file in it (an archive being written is new);
    None when it is gone already."""
    try:
        times = [folder.stat().st_mtime]
        times.extend(entry.stat(follow_symlinks=False).st_mtime for entry in _entries(folder))
    except FileNotFoundError:
        return None
    return _written(max(times))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
