"""Safety rules for rendered output paths.

Templates come from untrusted users, so every rendered path is checked before a
sink sees it: it must stay inside the destination and be portable to Linux,
macOS and Windows. The rules live in two tables, one for the whole path and one
for each segment; the first rule a path breaks names the problem.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import attrs

from launchpad_core.errors import PathCollisionError, UnsafePathError

MAX_PATH_BYTES = 4096
MAX_SEGMENT_BYTES = 255
WINDOWS_INVALID_CHARS = frozenset('<>:"|?*')
# Cc: C0, DEL, C1 · Cf: bidi overrides, zero-width characters · Cs: lone surrogates
# Zl, Zp: line and paragraph separators.
CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_DEVICE_DIGITS = "0123456789\u00b9\u00b2\u00b3"
WINDOWS_RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{port}{digit}" for port in ("COM", "LPT") for digit in _DEVICE_DIGITS}
)


@attrs.frozen
class PathRule:
    """One rule: a predicate that is true when the rule is broken, and why."""

    broken_by: Callable[[str], bool]
    reason: str


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment not in ("", ".")]


def _has_control_character(text: str) -> bool:
    return any(unicodedata.category(char) in CONTROL_CATEGORIES for char in text)


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8"))


def _is_reserved_on_windows(segment: str) -> bool:
    stem = segment.split(".", 1)[0].rstrip(" ")
    return stem.upper() in WINDOWS_RESERVED_NAMES


# Rules for the whole path, checked in order; control characters come before
# the length rule, which encodes the path.
PATH_RULES: tuple[PathRule, ...] = (
    PathRule(lambda p: p.startswith("/"), "absolute paths are not allowed"),
    PathRule(
        _has_control_character,
        "control and invisible characters (NUL, newline, bidi overrides...) are not allowed",
    ),
    PathRule(lambda p: "\\" in p, "backslashes are not allowed; use '/' between directories"),
    PathRule(lambda p: ":" in p, "colons are not portable and 'C:' would name a Windows drive"),
    PathRule(
        lambda p: not WINDOWS_INVALID_CHARS.isdisjoint(p),
        'the characters < > : " | ? * are not allowed on Windows',
    ),
    PathRule(lambda p: not _segments(p), "the path is empty"),
    PathRule(
        lambda p: _utf8_length(p) > MAX_PATH_BYTES,
        f"the path is longer than {MAX_PATH_BYTES} bytes",
    ),
)

# Rules for each segment of the path, '.' and empty segments already dropped.
SEGMENT_RULES: tuple[PathRule, ...] = (
    PathRule(lambda s: s == "..", "'..' segments would leave the destination"),
    PathRule(_is_reserved_on_windows, "CON, PRN, AUX, NUL, COM1... are reserved on Windows"),
    PathRule(
        lambda s: s.endswith((".", " ")),
        "a file or directory name may not end with a dot or a space",
    ),
    PathRule(
        lambda s: s.casefold() == ".git",
        "a '.git' folder would let the template set Git hooks and configuration "
        "that run when the project is used",
    ),
    PathRule(
        lambda s: _utf8_length(s) > MAX_SEGMENT_BYTES,
        f"a file or directory name is longer than {MAX_SEGMENT_BYTES} bytes",
    ),
)


def _shown(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _enforce(rules: tuple[PathRule, ...], text: str, path: str, source: str) -> None:
    for rule in rules:
        if rule.broken_by(text):
            where = "" if text == path else f" (in {_shown(text)})"
            message = f"unsafe output path {_shown(path)}{where}: {rule.reason}"
            raise UnsafePathError(message, source=source)


@functools.lru_cache(maxsize=4096)
def _broken_segment_rule(segment: str) -> PathRule | None:
    """The first rule ``segment`` breaks; cached, since segments repeat across paths."""
    return next((rule for rule in SEGMENT_RULES if rule.broken_by(segment)), None)


def check_output_path(path: str, *, source: str) -> str:
    """Return `path` normalised ('a//b' and './a/b' become 'a/b') or raise UnsafePathError."""
    _enforce(PATH_RULES, path, path, source)
    segments = _segments(path)
    for segment in segments:
        if _broken_segment_rule(segment) is not None:
            _enforce(SEGMENT_RULES, segment, path, source)
    return "/".join(segments)


def check_link_target(path: str, target: str, *, source: str) -> str:
    """The target of the symbolic link at ``path`` if it stays inside the destination,
    else UnsafePathError. A target is relative; '..' segments may only lead it (a '..'
    after a name could climb out of a folder that is itself a link)."""
    segments = target.split("/")
    ups = next((i for i, s in enumerate(segments) if s != ".."), len(segments))
    reason = None
    if not target or target.startswith("/") or "\\" in target or _has_control_character(target):
        reason = "a link target must be a relative path"
    elif ".." in segments[ups:]:
        reason = "'..' may only begin a link target"
    elif ups > path.count("/"):
        reason = "it points outside the destination"
    if reason is not None:
        message = f"unsafe symbolic link {_shown(path)} -> {_shown(target)}: {reason}"
        raise UnsafePathError(message, source=source)
    return target


def collision_key(path: str) -> str:
    """Key under which paths that a file system may treat as one file are equal."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", path).casefold())


def parent_directories(path: str) -> Iterator[str]:
    """The directories a normalised path lies in: 'a/b/c' gives 'a', 'a/b'."""
    parts = path.split("/")
    for end in range(1, len(parts)):
        yield "/".join(parts[:end])


def _named(output: tuple[str, str]) -> str:
    return f"{output[0]!r} (from {output[1]})"


def _collision(new: tuple[str, str], old: tuple[str, str], sentence: str) -> PathCollisionError:
    message = sentence.format(new=_named(new), old=_named(old))
    return PathCollisionError(message, source=new[1])


_SAME_FILE = "{new} and {old} would be the same file on case- or Unicode-insensitive file systems"
_FILE_OVER_DIRECTORY = "{new} would be a file where {old} needs a directory"
_DIRECTORY_OVER_FILE = "{new} needs a directory where {old} is a file"
_FOLDER_OVER_FILE = "{new} would be a folder where {old} is a file"


def check_collisions(
    paths: Iterable[tuple[str, str]], *, folders: Iterable[tuple[str, str]] = ()
) -> None:
    """Raise PathCollisionError if two (output path, source) pairs clash on disk.

    ``folders`` are empty folders to create: one may not be, or lie in, a file.
    """
    files: dict[str, tuple[str, str]] = {}
    directories: dict[str, tuple[str, str]] = {}
    for path, source in paths:
        key = collision_key(path)
        if key in files:
            raise _collision((path, source), files[key], _SAME_FILE)
        if key in directories:
            raise _collision((path, source), directories[key], _FILE_OVER_DIRECTORY)
        files[key] = (path, source)
        for parent in parent_directories(key):
            if parent in files:
                raise _collision((path, source), files[parent], _DIRECTORY_OVER_FILE)
            directories.setdefault(parent, (path, source))
    for path, source in folders:
        key = collision_key(path)
        if key in files:
            raise _collision((path, source), files[key], _FOLDER_OVER_FILE)
        for parent in parent_directories(key):
            if parent in files:
                raise _collision((path, source), files[parent], _DIRECTORY_OVER_FILE)


def safe_join(root: Path, rel: str, *, source: str | None = None) -> Path:
    """Join a checked relative path to `root`, refusing symlinks and escapes."""
    base = root.resolve()
    segments = check_output_path(rel, source=source or rel).split("/")
    target = base
    for segment in segments:
        target = target / segment
        if target.is_symlink():
            message = f"output path {rel!r} goes through the symbolic link {target}"
            raise UnsafePathError(message, source=source or rel)
    if not target.resolve().is_relative_to(base):
        raise UnsafePathError(f"output path {rel!r} leaves {base}", source=source or rel)
    return target
