"""Template directories as zip archives: unpacking an uploaded one safely, and writing
a definition out as a LaunchPad template directory (``launchpad.json`` beside the file
tree) that ``launchpad import launchpad`` or any importer reads back.

Unpacking refuses what could write outside its folder or exhaust the machine, before
writing anything: absolute paths, ``..`` segments, backslashes, drive letters, NUL and
other control characters, symbolic links, more than ``max_files`` entries and more
than ``max_bytes`` unpacked (counted from what is actually decompressed, not from the
sizes the archive claims). Each refusal is an :class:`UnsafePathError` or a
:class:`LimitExceededError` naming the entry.
"""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import LimitExceededError, LoadError, UnsafePathError
from .loading import DIRECTORY_DEFINITIONS

DEFINITION_NAME = "launchpad.json"
CHUNK = 64 * 1024
_DEFAULTS = {"encoding": "utf-8", "render": True, "when": True, "skip_if_exists": False,
             "mode": None, "symlink": False}


def unpack(data: bytes, dest: Path, *, max_bytes: int, max_files: int) -> Path:
    """Unpack the zip ``data`` into the empty folder ``dest``; the template's root (``dest``,
    or the one folder everything is in, as GitHub's archives have it)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise LoadError(f"the upload is not a zip archive: {exc}") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > max_files:
            raise LimitExceededError(f"the archive holds more than {max_files:,} entries")
        names = [_checked_name(info) for info in entries]
        total = 0
        for info, name in zip(entries, names, strict=True):
            target = dest.joinpath(*PurePosixPath(name).parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            total = _copy(archive, info, target, total, max_bytes)
            if stat.S_IMODE(info.external_attr >> 16) & 0o111:
                target.chmod(0o755)
    return _root(dest)


def _checked_name(info: zipfile.ZipInfo) -> str:
    name = info.filename
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UnsafePathError(f"the archive holds a symbolic link: {name!r}", source=name)
    bad = ("\\" in name or name.startswith("/") or any(ord(c) < 32 for c in name)
           or (len(name) > 1 and name[1] == ":"))
    parts = PurePosixPath(name).parts
    if bad or not parts or any(part in ("..", ".") for part in parts):
        raise UnsafePathError(f"the archive entry {name!r} is not a safe relative path",
                              source=name)
    return PurePosixPath(*parts).as_posix()


def _copy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, total: int,
          max_bytes: int) -> int:
    with archive.open(info) as source, target.open("xb") as out:
        while chunk := source.read(CHUNK):
            total += len(chunk)
            if total > max_bytes:
                raise LimitExceededError(f"the archive unpacks to more than {max_bytes:,} bytes",
                                         source=info.filename)
            out.write(chunk)
    return total


def _root(dest: Path) -> Path:
    children = [p for p in dest.iterdir() if p.name != "__MACOSX"]
    if len(children) == 1 and children[0].is_dir() and not any(
            (dest / name).exists() for name in DIRECTORY_DEFINITIONS):
        return children[0]
    return dest


def definition_zip(definition: dict[str, Any]) -> bytes:
    """``definition`` (plain JSON, as stored) as a zip of a LaunchPad template directory:
    each regular file in the tree at its path (templated paths as they are), and
    ``launchpad.json`` with everything else; an entry there without ``content`` carries
    the settings of the tree file at its path (``when``, ``render``, ``mode`` ...).
    Folder entries and links stay whole in ``launchpad.json``."""
    import base64

    entries: list[dict[str, Any]] = []
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for spec in definition.get("files", []):
            path = spec.get("path", "")
            if spec.get("symlink") or path.endswith("/") or path in DIRECTORY_DEFINITIONS:
                entries.append({"content": "", **spec})  # with content: kept whole
                continue
            content = spec.get("content", "")
            data = (base64.b64decode(content) if spec.get("encoding") == "base64"
                    else content.encode())
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | (spec.get("mode") or 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
            extra = {k: v for k, v in spec.items()
                     if k not in ("path", "content", "encoding", "mode") and _DEFAULTS.get(k) != v}
            if extra:
                entries.append({"path": path, **extra})
        rest = {k: v for k, v in definition.items() if k != "files"}
        archive.writestr(DEFINITION_NAME, json.dumps({**rest, "files": entries}, indent=2,
                                                     ensure_ascii=False) + "\n")
    return stream.getvalue()
