"""What rendering produces: files ready for a sink."""

from __future__ import annotations

import hashlib

import attrs


@attrs.frozen
class RenderedFile:
    """One output file: a checked relative POSIX path and its final bytes.

    With ``is_dir`` it is an empty folder to create instead (no data): rendering
    keeps only folders no other output lies in. With ``symlink`` it is a symbolic
    link whose target (relative, inside the destination) is ``data``.
    """

    path: str
    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")
    mode: int | None = None
    skip_if_exists: bool = False
    source: str = ""
    is_dir: bool = False
    symlink: bool = False

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@attrs.frozen
class ManifestEntry:
    """Path, size and digest of one output file."""

    path: str
    size: int
    sha256: str
    mode: int | None = None
