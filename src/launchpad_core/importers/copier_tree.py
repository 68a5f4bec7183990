"""Which files a Copier template writes, and how: Copier's ``_render_template`` as data.

Every file and folder under ``_subdirectory`` is a candidate; a folder becomes
a directory entry (Copier creates it even when nothing is written in it). A
name ending in the templates suffix is rendered (the suffix is dropped), any
other file is copied byte for byte, and a path shadowed by a suffixed sibling
is skipped; every path is rendered segment by segment, an empty segment
skipping it. ``_exclude`` patterns are matched against the rendered path
(without a trailing '/', as Copier does for folders too): static ones are
applied here where the path is static and are left to the engine otherwise;
templated ones, and folder patterns (``x/``, ``x/**``) on templated paths,
become a ``when`` condition rendered with the answers. A ``.git`` that
``_exclude`` lets through (a template whose ``_exclude`` replaces Copier's
defaults) is skipped, never walked, and named in :attr:`CopierFiles.skipped_git`:
LaunchPad never writes one, and leaving it out is the safe reading of the author's
intent.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import attrs

from ..errors import LoadError
from ..model.template import EnvOptions, FileSpec
from .copier_config import CopierConfig
from .copier_exclude import EXCLUDED_GLOBAL, SHADOWED_CONTEXT, nfd_patterns, pattern_spec
from .jinja_text import (
    as_jinja_reads,
    captured,
    environment_options,
    expression,
    has_markup,
    string_literal,
)
from .source_tree import TreeReader

if TYPE_CHECKING:
    import pathspec

@attrs.frozen
class CopierFiles:
    """The file specs of a Copier template and the exclusions left to the engine."""

    files: tuple[FileSpec, ...]
    exclude: tuple[str, ...]
    #: Suffixed paths (suffix dropped) that templated paths are checked against when
    #: rendering; the render context holds them once as ``_lp_shadowed``.
    shadowed: tuple[str, ...] = ()
    #: ``.git`` folders and files of the template left out (only their own paths).
    skipped_git: tuple[str, ...] = ()


def _is_git(name: str) -> bool:
    return name.casefold() == ".git"


class _Walk:
    """One walk over a Copier template's tree (a plain class, as :class:`TreeReader`)."""

    def __init__(
        self, reader: TreeReader, config: CopierConfig, envops: EnvOptions, copy_root: Path
    ) -> None:
        self.reader = reader
        self.config = config
        self.envops = envops
        self.copy_root = copy_root
        self.shadow_checked = False
        self.skipped_git: list[str] = []

    @property
    def suffix(self) -> str:
        return self.config.templates_suffix

    @property
    def preserve_symlinks(self) -> bool:
        return bool(self.config.settings.get("preserve_symlinks"))

    @functools.cached_property
    def templated_exclude(self) -> bool:
        return any(has_markup(p, self.envops) for p in self.config.exclude)

    @functools.cached_property
    def folder_exclude(self) -> bool:
        """Patterns that match a folder's path with a trailing '/' (the engine's way of
        matching directory entries) but not without it (Copier's way)."""
        return any(p.rstrip().endswith(("/", "/**")) for p in self.config.exclude)

    def excluded_when_rendered(self, out: str) -> bool:
        """Whether the ``when`` of ``out`` decides its exclusion."""
        return self.templated_exclude or (self.folder_exclude and has_markup(out, self.envops))

    @functools.cached_property
    def static_spec(self) -> pathspec.PathSpec:
        return pattern_spec(nfd_patterns(self.config.exclude))

    @functools.cached_property
    def shadowed(self) -> frozenset[str]:
        """Paths under the template root with a suffixed sibling, suffix dropped."""
        found = set()
        for dirpath, dirnames, filenames in os.walk(self.reader.root):
            rel_dir = Path(dirpath).relative_to(self.reader.root)
            for name in (*dirnames, *filenames):
                if name.endswith(self.suffix):
                    found.add((rel_dir / name).as_posix()[: -len(self.suffix)])
        return frozenset(found)

    @functools.cached_property
    def shadowed_by_name(self) -> dict[str, list[str]]:
        """:attr:`shadowed` by last path segment."""
        by_name: dict[str, list[str]] = {}
        for path in self.shadowed:
            by_name.setdefault(path.rpartition("/")[2], []).append(path)
        return by_name

    def entries(self) -> Iterator[tuple[str, Path]]:
        yield from self._scan(self.copy_root, "", set())

    def _scan(self, directory: Path, prefix: str, seen: set[Path]) -> Iterator[tuple[str, Path]]:
        real = directory.resolve()
        if real in seen:
            raise LoadError(f"{prefix or '.'} links back to a folder above it")
        with os.scandir(directory) as scan:
            found = sorted(scan, key=lambda e: e.name)
        for entry in found:
            path = Path(entry.path)
            if entry.is_symlink():
                if self.preserve_symlinks:  # a link of its own, never followed
                    yield f"{prefix}{entry.name}", path
                    continue
                self.reader.check_inside(path)
            if entry.is_dir():
                yield f"{prefix}{entry.name}/", path
                if _is_git(entry.name):
                    continue  # skipped or excluded as a whole by spec()
                yield from self._scan(path, f"{prefix}{entry.name}/", seen | {real})
            else:
                yield f"{prefix}{entry.name}", path

    def spec(self, entry: str, path: Path) -> FileSpec | None:
        """The spec of a file or, for an entry ending in '/', a folder; None if skipped."""
        rel = entry.removesuffix("/")
        suffix = self.suffix
        if suffix and (self.copy_root / f"{rel}{suffix}").exists():
            return None
        is_template = rel.endswith(suffix)
        out = str(PurePosixPath(rel).with_suffix("")) if suffix and is_template else rel
        _refuse_yield(out, self.envops)
        if not has_markup(out, self.envops) and self._skipped(out, is_template):
            return None
        if any(_is_git(segment) for segment in out.split("/")):
            self.skipped_git.append(out)
            return None
        conditions = self._conditions(out, is_template)
        if entry.endswith("/"):
            spec = FileSpec(path=f"{out}/")
        else:
            spec = self._content(out, path, is_template)
        return attrs.evolve(spec, when=self._when(out, conditions)) if conditions else spec

    def _skipped(self, static_out: str, is_template: bool) -> bool:
        """Decided now for a path without markup: excluded, or shadowed at the template root."""
        if not self.templated_exclude and self.static_spec.match_file(static_out):
            return True
        sibling = self.reader.root / f"{static_out}{self.suffix}"
        return bool(self.suffix) and not is_template and sibling.exists()

    def _conditions(self, out: str, is_template: bool) -> list[str]:
        """Decided when rendering: shadowing of a templated path, templated exclusions."""
        conditions = []
        if (
            has_markup(out, self.envops)
            and self.suffix
            and not is_template
            and self._may_be_shadowed(out)
        ):
            self.shadow_checked = True
            conditions.append(f"_lp_path not in {SHADOWED_CONTEXT}")
        if self.excluded_when_rendered(out):
            conditions.append(f"not {EXCLUDED_GLOBAL}(_lp_patterns, _lp_path)")
        return conditions

    def _may_be_shadowed(self, out: str) -> bool:
        """Whether the rendered ``out`` could equal a shadowed path: only one that starts
        with ``out``'s text before its first tag and ends with its text after the last
        (whitespace at the tags left out: ``-`` and trim options may remove it)."""
        envops = self.envops
        line_prefixes = (envops.line_statement_prefix, envops.line_comment_prefix)
        if any(m and m in out for m in line_prefixes):
            return bool(self.shadowed)  # line syntax: no simple text around the tags
        starts = [out.find(m) for m in envops.markers if m in out]
        head = out[: min(starts)].rstrip() if starts else out
        ends = (envops.variable_end_string, envops.block_end_string, envops.comment_end_string)
        last = max((out.rfind(m) + len(m) for m in ends if m in out), default=len(out))
        tail = out[last:].lstrip()
        # A tail holding a '/' names the last segment of any path that ends with it.
        candidates = (
            self.shadowed_by_name.get(tail.rpartition("/")[2], ()) if "/" in tail
            else self.shadowed
        )
        return any(
            len(p) >= len(head) + len(tail) and p.startswith(head) and p.endswith(tail)
            for p in candidates
        )

    def _content(self, out: str, path: Path, is_template: bool) -> FileSpec:
        if self.preserve_symlinks and path.is_symlink():
            # Copier renders the target of a link whose name has the suffix.
            return FileSpec(path=out, content=os.readlink(path), render=is_template, symlink=True)
        if not is_template:
            return self.reader.raw_file(path, out)
        try:
            text = self.reader.text(path)
        except LoadError:
            if self.suffix:
                raise
            return self.reader.raw_file(path, out)  # Copier copies what it cannot decode
        if "\x00" in text and not self.suffix:
            return self.reader.raw_file(path, out)
        content = as_jinja_reads(text, self.envops)
        return FileSpec(path=out, content=content, mode=self.reader.mode(path))

    def _when(self, out: str, conditions: list[str]) -> str:
        envops = self.envops
        newline = expression(string_literal("\n"), envops)
        setup = captured("_lp_path", out, envops)
        if self.excluded_when_rendered(out):
            start, end = envops.block_start_string, envops.block_end_string
            setup = (
                f"{start} set _copier_operation = 'copy' {end}"
                + captured("_lp_patterns", newline.join(self.config.exclude), envops)
                + setup
            )
        return setup + expression(" and ".join(conditions), envops)


def _refuse_yield(out: str, envops: EnvOptions) -> None:
    start = re.escape(envops.block_start_string)
    if re.search(start + r"[-+]?\s*yield\b", out):
        raise LoadError(f"{out}: Copier's {{% yield %}} in file names is not supported")


def _constant_subdirectory(subdirectory: str, envops: EnvOptions) -> str:
    """``_subdirectory`` rendered when it uses no answer (``{{ 'template' }}``, a
    ``{% set %}`` ...); one that depends on the answers is refused."""
    if not has_markup(subdirectory, envops):
        return subdirectory
    import jinja2
    from jinja2 import meta
    from jinja2.sandbox import SandboxedEnvironment

    from .copier_filters import FILTERS, GLOBALS

    env = SandboxedEnvironment(**environment_options(envops), undefined=jinja2.StrictUndefined)
    env.filters.update(FILTERS)
    env.globals.update(GLOBALS)
    try:
        names = meta.find_undeclared_variables(env.parse(subdirectory)) - set(env.globals)
        if names:
            raise LoadError(
                f"_subdirectory {subdirectory!r} depends on {', '.join(sorted(names))}: "
                "a _subdirectory chosen by the answers is not supported"
            )
        return env.from_string(subdirectory).render()
    except jinja2.TemplateError as exc:
        raise LoadError(f"_subdirectory {subdirectory!r} does not render: {exc}") from None


def copier_files(reader: TreeReader, config: CopierConfig, envops: EnvOptions) -> CopierFiles:
    """Every file and folder the template may write, as specs, in Copier's walk order
    made stable."""
    subdirectory = _constant_subdirectory(config.subdirectory, envops)
    copy_root = (reader.root / subdirectory).resolve()
    if not copy_root.is_relative_to(reader.root) or not copy_root.is_dir():
        raise LoadError(f"_subdirectory {subdirectory!r} is not a folder of the template")
    walk = _Walk(reader, config, envops, copy_root)
    files = tuple(
        spec for rel, path in walk.entries() if (spec := walk.spec(rel, path)) is not None
    )
    dynamic = any(has_markup(f.path, envops) for f in files)
    by_engine = dynamic and not (walk.templated_exclude or walk.folder_exclude)
    exclude = nfd_patterns(config.exclude) if by_engine else ()
    shadowed = tuple(sorted(walk.shadowed)) if walk.shadow_checked else ()
    return CopierFiles(
        files=files, exclude=exclude, shadowed=shadowed, skipped_git=tuple(walk.skipped_git)
    )
