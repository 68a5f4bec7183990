"""Compiling many Jinja sources at once, and keeping them compiled on disk.

A template of 2,000 files means 2,000 Jinja compilations (parse, generate
Python, compile Python): the slow part of a first render. Two remedies, both
for the CLI:

* :func:`compile_many` spreads them over forked worker processes;
* :class:`PackCache` stores every compiled source of one template in a single
  file (one open and one ``marshal.load`` instead of one file per source, as
  Jinja's own ``FileSystemBytecodeCache`` keeps), keyed by the sources
  themselves, the Jinja options, and the Python and Jinja versions. The folder
  holds at most ``max_bytes`` (:data:`DEFAULT_MAX_BYTES`): a pack's modification
  time is its last use, and storing a pack removes the least recently used ones
  beyond the bound. Processes sharing the folder (a service's API and render
  children) each keep to it when they store.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2

from ..model.template import EnvOptions
from .sandbox import LaunchpadSandbox

#: The default bound of a :class:`PackCache` folder.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
#: Fewer sources than this compile faster in-process than through a pool.
PARALLEL_COMPILE_FROM = 64
_FORMAT = b"launchpad-pack-1\n"
#: Part of every pack's key: bump it whenever the sandbox's code generation
#: changes, so code compiled without newer checks is never loaded.
SANDBOX_VERSION = "3"  # 3: nothing folded at compile time; counted output


class PackCache:
    """Compiled sources of whole templates, one file per set of sources, at most
    ``max_bytes`` in all, least recently used first out."""

    def __init__(self, directory: Path, max_bytes: int = DEFAULT_MAX_BYTES):
        if max_bytes < 1:
            raise ValueError(f"a pack cache holds at least 1 byte, not {max_bytes}")
        self.directory = directory
        self.max_bytes = max_bytes

    def _path(self, envops: EnvOptions, sources: list[str]) -> Path:
        digest = hashlib.sha256(_FORMAT)
        parts = (sys.implementation.cache_tag, jinja2.__version__, SANDBOX_VERSION, repr(envops))
        for part in parts:
            digest.update(part.encode() + b"\0")
        for source in sources:
            digest.update(hashlib.sha256(source.encode("utf-8")).digest())
        return self.directory / f"{digest.hexdigest()}.pack"

    def load(self, envops: EnvOptions, sources: list[str]) -> list[CodeType | None] | None:
        path = self._path(envops, sources)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        if not data.startswith(_FORMAT):
            return None
        try:
            codes = marshal.loads(data[len(_FORMAT) :])
        except (EOFError, ValueError, TypeError):
            return None  # a damaged pack is compiled again and replaced
        if not isinstance(codes, list) or len(codes) != len(sources):
            return None
        with contextlib.suppress(OSError):  # used now: the last to be evicted
            os.utime(path)
        return codes

    def store(self, envops: EnvOptions, sources: list[str], codes: list[CodeType | None]) -> None:
        data = _FORMAT + marshal.dumps(codes)
        if len(data) > self.max_bytes:
            return  # it would evict everything and still not fit
        path = self._path(envops, sources)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError:  # a full disk, another process's eviction: compiled next time
            tmp.unlink(missing_ok=True)
            return
        self._evict()

    def size(self) -> int:
        """Bytes the packs take now."""
        return sum(size for _, size, _ in self._packs())

    def _evict(self) -> None:
        packs = sorted(self._packs())
        total = sum(size for _, size, _ in packs)
        for _, size, path in packs:
            if total <= self.max_bytes:
                return
            path.unlink(missing_ok=True)
            total -= size

    def _packs(self) -> Iterator[tuple[int, int, Path]]:
        """(last use in ns, size, path) of every pack, and of every pack being written
        (or left behind by a writer that died); another process may remove any."""
        try:
            with os.scandir(self.directory) as listing:
                entries = list(listing)
        except FileNotFoundError:
            return
        for entry in entries:
            if entry.name.endswith((".pack", ".tmp")):
                with contextlib.suppress(FileNotFoundError):
                    status = entry.stat()
                    yield status.st_mtime_ns, status.st_size, Path(entry.path)


def compile_many(env: LaunchpadSandbox, sources: list[str], workers: int) -> list[CodeType | None]:
    """Compile ``sources``; ``None`` for a source that does not compile (its
    error is reported later, with its file's name, by ``Engine.compile``).

    Sources that differ only in their plain text (2,000 modules of one pattern)
    share one compilation: see :func:`_group_by_skeleton`.
    """
    codes: list[CodeType | None] = [None] * len(sources)
    singles: list[int] = []
    for skeleton, members in _group_by_skeleton(env, sources).items():
        if skeleton is None or len(members) == 1:
            singles.extend(index for index, _ in members)
            continue
        code = _compile(env, skeleton)
        filled = None if code is None else _with_texts(code)
        for index, texts in members:
            codes[index] = None if filled is None else filled(texts)
    todo = [sources[i] for i in singles]
    if workers < 2 or len(todo) < PARALLEL_COMPILE_FROM:
        compiled = [_compile(env, source) for source in todo]
    else:
        compiled = _compile_in_processes(env, todo, workers)
    for index, code in zip(singles, compiled, strict=True):
        codes[index] = code
    return codes


# Skeletons: one compilation for sources that differ only in their plain text -----------
#
# A source's skeleton is the source itself with the inside of every stretch of
# plain text (what lies between tags, less the whitespace at either end)
# replaced by a placeholder holding as many newlines. Jinja's lexer treats a
# placeholder exactly as the text it replaces: neither holds the start of a
# tag, both begin and end with a character that is not whitespace (so
# whitespace control strips the same characters around them), and both span
# as many lines. So the skeleton lexes to the source's tokens with
# placeholders inside the ``data`` tokens, which Jinja's code generator only
# ever emits as string constants: the code compiled from a skeleton becomes
# any member's code by putting its texts back into the constants, and line
# numbers stay each source's own.
#
# That reasoning holds for the tags it can see through at a glance, checked
# below: besides names and operators, a tag may hold string literals without
# braces, backslashes or its own quote (Cookiecutter's ``{% if x == 'y' %}``),
# which the lexer reads whole, so no end delimiter hides in one. Any other
# source (braces or escapes inside a tag, raw blocks, line statements, other
# delimiters, extensions) has no skeleton and compiles alone.

_MARK = f"\ue000{os.urandom(6).hex()}:"
_PLACEHOLDER = re.compile(re.escape(_MARK) + r"(\d+)\n*\ue001")
_DEFAULT_SYNTAX = ("{%", "%}", "{{", "}}", "{#", "#}", None, None, "\n")
#: A string literal the lexer reads whole: no braces (so no delimiter) and no escapes.
_STRING = r"""'[^'\\{}]*'|"[^"\\{}]*\""""
#: Tags whose end is their first end delimiter: nothing inside can hide one. Possessive
#: (``*+``, ``++``): each unit starts with a character no other unit starts with, so the
#: one way to read a tag is found without backtracking.
_TAG = re.compile(
    rf"""(\{{\{{(?:[^{{}}'"]++|{_STRING})*+\}}\}}"""
    rf"""|\{{%(?:[^{{}}'"%]++|%(?!\}})|{_STRING})*+%\}}"""
    r"""|\{#.*?#\})""",
    re.S,
)
_TAG_START = re.compile(r"\{[{%#]")


def _group_by_skeleton(
    env: LaunchpadSandbox, sources: list[str]
) -> dict[str | None, list[tuple[int, tuple[str, ...]]]]:
    groups: dict[str | None, list[tuple[int, tuple[str, ...]]]] = {}
    if not _has_default_syntax(env):
        groups[None] = [(index, ()) for index in range(len(sources))]
        return groups
    for index, source in enumerate(sources):
        skeleton, texts = _skeleton(source)
        groups.setdefault(skeleton, []).append((index, texts))
    return groups


def _has_default_syntax(env: LaunchpadSandbox) -> bool:
    syntax = (
        env.block_start_string, env.block_end_string,
        env.variable_start_string, env.variable_end_string,
        env.comment_start_string, env.comment_end_string,
        env.line_statement_prefix, env.line_comment_prefix, env.newline_sequence,
    )
    return syntax == _DEFAULT_SYNTAX and not env.extensions  # extensions may rewrite the stream


def _skeleton(source: str) -> tuple[str | None, tuple[str, ...]]:
    if "\ue000" in source or "\r" in source:
        return None, ()
    parts = _TAG.split(source)  # text, tag, text, ..., text
    texts: list[str] = []
    for i in range(0, len(parts), 2):
        text = parts[i]
        followed_by_tag = i + 1 < len(parts)
        if _TAG_START.search(text) or (followed_by_tag and text.endswith("{")):
            return None, ()  # a tag this split did not see, or one starting earlier
        if followed_by_tag and parts[i + 1].startswith("{%") and "raw" in parts[i + 1]:
            return None, ()
        inner = text.strip()  # the lexer's whitespace (``\s``, ``str.strip``) is Unicode's
        if inner:
            start = len(text) - len(text.lstrip())
            newlines = "\n" * inner.count("\n")
            placeholder = f"{_MARK}{len(texts)}{newlines}\ue001"
            parts[i] = f"{text[:start]}{placeholder}{text[start + len(inner):]}"
            texts.append(inner)
    return "".join(parts), tuple(texts)


def _with_texts(code: CodeType) -> Callable[[tuple[str, ...]], CodeType]:
    """What puts a member's texts into ``code``, compiled from their skeleton: the code
    objects and constants holding no placeholder are shared, not copied."""
    marked: dict[int, bool] = {}  # by id of each code object, tuple and frozenset in ``code``

    def scan(value: object) -> bool:
        if isinstance(value, str):
            return _MARK in value
        if isinstance(value, CodeType | tuple | frozenset):
            items = value.co_consts if isinstance(value, CodeType) else value
            marked[id(value)] = found = any([scan(item) for item in items])
            return found
        return False

    scan(code)

    def filled(texts: tuple[str, ...]) -> CodeType:
        def put_back(match: re.Match[str]) -> str:
            return texts[int(match.group(1))]

        def constant(value: Any) -> Any:
            if isinstance(value, str):
                return _PLACEHOLDER.sub(put_back, value) if _MARK in value else value
            if not marked.get(id(value)):
                return value
            if isinstance(value, CodeType):
                return value.replace(co_consts=tuple(constant(c) for c in value.co_consts))
            return type(value)(constant(v) for v in value)

        return constant(code)

    return filled


def _compile(env: LaunchpadSandbox, source: str) -> CodeType | None:
    try:
        return env.compile(source, "template")
    except Exception:
        return None


_FORKED_ENV: LaunchpadSandbox | None = None


def _compile_forked(source: str) -> bytes:
    assert _FORKED_ENV is not None
    return marshal.dumps(_compile(_FORKED_ENV, source))


def _compile_in_processes(
    env: LaunchpadSandbox, sources: list[str], workers: int
) -> list[CodeType | None]:
    import multiprocessing  # only a cold render of a large template gets here

    global _FORKED_ENV  # noqa: PLW0603 - inherited by the forked children
    _FORKED_ENV = env
    try:
        chunk = max(1, len(sources) // (workers * 8))
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            blobs = pool.map(_compile_forked, sources, chunksize=chunk)
    finally:
        _FORKED_ENV = None
    return [marshal.loads(blob) for blob in blobs]
