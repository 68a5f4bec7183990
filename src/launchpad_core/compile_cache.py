"""Compiling many Jinja sources at once, and keeping them compiled on disk.

A template of 2,000 files means 2,000 Jinja compilations (parse, generate
Python, compile Python): the slow part of a first render. Two remedies, both
for the CLI:

* :func:`compile_many` spreads them over forked worker processes;
* :class:`PackCache` stores every compiled source of one template in a single
  file (one open and one ``marshal.load`` instead of one file per source, as
  Jinja's own ``FileSystemBytecodeCache`` keeps), keyed by the sources
  themselves, the Jinja options, and the Python and Jinja versions.
"""

from __future__ import annotations

import hashlib
import marshal
import multiprocessing
import os
import sys
from pathlib import Path
from types import CodeType

import jinja2

from .model.template import EnvOptions
from .sandbox import LaunchpadSandbox

#: Fewer sources than this compile faster in-process than through a pool.
PARALLEL_COMPILE_FROM = 64
_FORMAT = b"launchpad-pack-1\n"
#: Part of every pack's key: bump it whenever the sandbox's code generation
#: changes, so code compiled without newer checks is never loaded.
SANDBOX_VERSION = "2"


class PackCache:
    """Compiled sources of whole templates, one file per set of sources."""

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory

    def _path(self, envops: EnvOptions, sources: list[str]) -> Path:
        digest = hashlib.sha256(_FORMAT)
        parts = (sys.implementation.cache_tag, jinja2.__version__, SANDBOX_VERSION, repr(envops))
        for part in parts:
            digest.update(part.encode() + b"\0")
        for source in sources:
            digest.update(hashlib.sha256(source.encode("utf-8")).digest())
        return self.directory / f"{digest.hexdigest()}.pack"

    def load(self, envops: EnvOptions, sources: list[str]) -> list[CodeType | None] | None:
        try:
            data = self._path(envops, sources).read_bytes()
        except FileNotFoundError:
            return None
        if not data.startswith(_FORMAT):
            return None
        try:
            codes = marshal.loads(data[len(_FORMAT) :])
        except (EOFError, ValueError, TypeError):
            return None  # a damaged pack is compiled again and replaced
        return codes if isinstance(codes, list) and len(codes) == len(sources) else None

    def store(self, envops: EnvOptions, sources: list[str], codes: list[CodeType | None]) -> None:
        path = self._path(envops, sources)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(_FORMAT + marshal.dumps(codes))
        os.replace(tmp, path)


def compile_many(env: LaunchpadSandbox, sources: list[str], workers: int) -> list[CodeType | None]:
    """Compile ``sources``; ``None`` for a source that does not compile (its
    error is reported later, with its file's name, by ``Engine.compile``)."""
    if workers < 2 or len(sources) < PARALLEL_COMPILE_FROM:
        return [_compile(env, source) for source in sources]
    return _compile_in_processes(env, sources, workers)


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
    global _FORKED_ENV  # noqa: PLW0603 - inherited by the forked children
    _FORKED_ENV = env
    try:
        chunk = max(1, len(sources) // (workers * 8))
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            blobs = pool.map(_compile_forked, sources, chunksize=chunk)
    finally:
        _FORKED_ENV = None
    return [marshal.loads(blob) for blob in blobs]
