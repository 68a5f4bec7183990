"""Which files a Cookiecutter template writes, and how: ``generate_files`` as data.

The project folder (the child of the template whose name holds
``cookiecutter`` and ``{{ }}``) is walked like Cookiecutter walks it: folders
and files matching ``_copy_without_render`` (``fnmatch`` on the unrendered
path) are copied (a copied folder keeps its inner names unrendered), files
``binaryornot`` calls binary are copied, the others are rendered and written
with the newline of their first line (or ``_new_lines``). Every folder is a
directory entry too, since Cookiecutter creates it even when it stays empty.
"""

from __future__ import annotations

import fnmatch
import io
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs
from binaryornot.check import is_binary

from ..model.template import EnvOptions, FileSpec
from .cookiecutter_ext import rewrite_now_tags
from .jinja_text import as_jinja_reads, has_markup, literal, string_literal
from .source_tree import TreeReader, file_mode


def detected_newline(data: bytes) -> str | None:
    """The newline Cookiecutter writes a rendered file with: the first one Python saw."""
    reader = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    reader.readline()
    newlines = reader.newlines
    return newlines[0] if isinstance(newlines, tuple) else newlines


def with_newline(text: str, newline: str | None, envops: EnvOptions) -> str:
    """Rendered ``text`` written with ``newline``: each ``\\n`` of the output becomes it."""
    if newline in (None, "\n"):
        return text
    if not has_markup(text, envops):
        return text.replace("\n", newline)
    start, end = envops.block_start_string, envops.block_end_string
    replace = f"replace({string_literal(chr(10))}, {string_literal(newline)})"
    return f"{start} filter {replace} +{end}{text}{start}+ endfilter {end}"


@attrs.define
class CookiecutterTree:
    """The project folder ``root`` (its unrendered name) inside the template directory."""

    reader: TreeReader
    root: str
    envops: EnvOptions
    copy_without_render: Sequence[str] = ()
    new_lines: str | None = None

    def copy_only(self, rel: str) -> bool:
        return any(fnmatch.fnmatch(rel, pattern) for pattern in self.copy_without_render)

    def files(self) -> Iterator[FileSpec]:
        top = self.reader.root / self.root
        yield FileSpec(path=f"{self.root}/")
        for dirpath, dirnames, filenames in os.walk(top):
            here = Path(dirpath)
            rel_dir = here.relative_to(top).as_posix()
            prefix = "" if rel_dir == "." else f"{rel_dir}/"
            dirnames.sort()
            for name in [d for d in dirnames if self.copy_only(f"{prefix}{d}")]:
                dirnames.remove(name)
                yield from self._copied_folder(here / name, f"{prefix}{name}")
            for name in dirnames:
                yield FileSpec(path=f"{self._out(prefix + name)}/")
            for name in sorted(filenames):
                yield self._file(here / name, f"{prefix}{name}")

    def _out(self, rel: str) -> str:
        return f"{self.root}/{rel}"

    def _copied_folder(self, folder: Path, rel: str) -> Iterator[FileSpec]:
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
            dirnames.sort()
            yield FileSpec(path=f"{self._copied_path(folder, Path(dirpath), rel)}/")
            for name in sorted(filenames):
                path = Path(dirpath) / name
                yield self.reader.raw_file(path, self._copied_path(folder, path, rel))

    def _copied_path(self, folder: Path, path: Path, rel: str) -> str:
        """The output path of ``path`` in the copied ``folder``: inner names kept as they are."""
        inner = path.relative_to(folder).parts
        return "/".join((self._out(rel), *(literal(part, self.envops) for part in inner)))

    def _file(self, path: Path, rel: str) -> FileSpec:
        out = self._out(rel)
        if self.copy_only(rel) or is_binary(str(path)):
            return self.reader.raw_file(path, out)
        text = self.reader.text(path)
        newline = self.new_lines or detected_newline(text.encode("utf-8"))
        content = rewrite_now_tags(as_jinja_reads(text, self.envops), self.envops)
        return FileSpec(
            path=out, content=with_newline(content, newline, self.envops), mode=file_mode(path)
        )
