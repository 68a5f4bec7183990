"""Where artifacts (the archives jobs produce) are kept.

:class:`ArtifactStorage` is the interface the worker writes through and the API
reads through; :class:`LocalArtifactStorage`, a directory (by default
``DATA_DIR/artifacts``), is the one built in. Keys are relative POSIX paths
``<job id>/<attempt token>.zip`` chosen by the worker, so two workers racing for
one job never write the same file; the loser deletes its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

import attrs

_KEY = re.compile(r"[0-9a-f-]{36}/[A-Za-z0-9_-]{1,64}\.zip")


@attrs.frozen
class StoredArtifact:
    key: str
    size: int
    sha256: str


class ArtifactStorage(Protocol):
    def save(self, key: str, data: bytes) -> StoredArtifact:
        """Store ``data`` under ``key`` atomically (readers never see half a file)."""
        ...

    def open(self, key: str) -> BinaryIO:
        """The stored bytes, for reading; :class:`FileNotFoundError` when gone."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; nothing happens when it is already gone."""
        ...

    def listing(self) -> Iterator[tuple[str, datetime]]:
        """Every stored key and when it was written."""
        ...


def artifact_key(job_id: object, token: str) -> str:
    return f"{job_id}/{token}.zip"


class LocalArtifactStorage:
    """Artifacts as files under one directory."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError(f"not an artifact key: {key!r}")
        return self.root / key

    def save(self, key: str, data: bytes) -> StoredArtifact:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{secrets.token_hex(8)}.tmp")
        with open(temp, "xb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, target)
        return StoredArtifact(key, len(data), hashlib.sha256(data).hexdigest())

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # other attempts' files remain there
            path.parent.rmdir()

    def listing(self) -> Iterator[tuple[str, datetime]]:
        if not self.root.is_dir():
            return
        for path in self.root.glob("*/*.zip"):
            key = path.relative_to(self.root).as_posix()
            if _KEY.fullmatch(key):
                yield key, datetime.fromtimestamp(path.stat().st_mtime, UTC)
