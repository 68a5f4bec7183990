"""Rendering a template with answers into checked, in-memory output files.

Nothing touches the disk here: the result is a sorted list of
:class:`RenderedFile` that a sink writes. Every path is checked, every limit
enforced and collisions found before the first byte is written anywhere.
Directory entries (paths ending in '/') come out as folders only where no
other output lies in them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import LaunchpadError, LimitExceededError, SecurityError
from ..model.answers import Answers
from ..model.output import RenderedFile
from ..model.template import FileSpec, Settings, Template
from .deadline import deadline
from .engine import Engine
from .paths import check_collisions, check_link_target, check_output_path, parent_directories

if TYPE_CHECKING:
    import pathspec

    from ..plugins.generators import FileGenerator

#: Told (template files done, template files in all, the path of the one just done in
#: the template, bytes of output so far) after each file as rendering goes on.
Progress = Callable[[int, int, str, int], None]

_PLAIN_SCALARS = (str, int, float, bool, type(None))
#: What the answers file records of the template's origin, as Copier names it.
_RECORDED_ORIGIN = (("src_path", "source"), ("commit", "commit"))


@functools.lru_cache(maxsize=256)
def globs(patterns: tuple[str, ...]) -> pathspec.PathSpec:
    """The compiled gitignore-style ``patterns`` (imported on first use: most
    templates have none)."""
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(patterns)


def matches(patterns: tuple[str, ...], *paths: str) -> bool:
    """Whether any of ``paths`` matches the gitignore-style ``patterns``."""
    if not patterns:
        return False
    spec = globs(patterns)
    return any(spec.match_file(p) for p in paths)


@attrs.frozen
class SkippedFile:
    """A file of the template that is not in the output, and why: ``when`` (its
    condition is false), ``empty_path`` (a part of its path rendered empty) or
    ``excluded`` (a pattern of the template's ``exclude`` matches it)."""

    path: str
    reason: str


class _Run:
    """One render's running state (a plain class: an attrs one costs a cold start its
    definition, and this is no value)."""

    def __init__(
        self, template: Template, engine: Engine, context: Mapping[str, Any],
        progress: Progress | None, *, skipped: list[SkippedFile] | None = None,
    ) -> None:
        self.template = template
        self.engine = engine
        self.context = context
        self.progress = progress
        self.files: list[RenderedFile] = []
        self.folders: dict[str, RenderedFile] = {}
        self.total_bytes = 0
        self.skipped = skipped  # filled when the caller asks why

    @property
    def settings(self) -> Settings:
        return self.template.settings

    def add(self, rendered: RenderedFile) -> None:
        limits = self.engine.limits
        if rendered.size > limits.max_file_bytes:
            raise LimitExceededError(
                f"the file is {rendered.size:,} bytes, over the limit of "
                f"{limits.max_file_bytes:,}",
                source=rendered.source,
            )
        self.total_bytes += rendered.size
        if self.total_bytes > limits.max_total_bytes:
            raise self.over_total()
        if len(self.files) >= limits.max_files:
            raise LimitExceededError(f"the output has more than {limits.max_files:,} files")
        self.files.append(rendered)

    def over_total(self) -> LimitExceededError:
        limit = self.engine.limits.max_total_bytes
        return LimitExceededError(f"the output is over the limit of {limit:,} bytes in all")

    def skip(self, spec: FileSpec, reason: str) -> None:
        if self.skipped is not None:
            self.skipped.append(SkippedFile(spec.path, reason))

    def add_folder(self, folder: RenderedFile) -> None:
        """A directory entry; two entries for the same folder are one."""
        self.folders.setdefault(folder.path, folder)

    def output(self) -> list[RenderedFile]:
        """The files and the folders nothing else lies in, checked and sorted by path."""
        folders = _empty_folders(self.folders, self.files)
        if len(self.files) + len(folders) > self.engine.limits.max_files:
            raise LimitExceededError(
                f"the output has more than {self.engine.limits.max_files:,} files"
            )
        check_collisions(
            ((f.path, f.source) for f in self.files), folders=((f.path, f.source) for f in folders)
        )
        return sorted([*self.files, *folders], key=lambda f: f.path)


def _empty_folders(
    folders: Mapping[str, RenderedFile], files: Iterable[RenderedFile]
) -> list[RenderedFile]:
    """The folders that are no parent of another output: the others appear anyway."""
    if not folders:
        return []
    implied = {d for f in (*files, *folders.values()) for d in parent_directories(f.path)}
    return [folder for path, folder in folders.items() if path not in implied]


def render_files(
    template: Template,
    answers: Answers,
    *,
    engine: Engine,
    generators: Mapping[str, FileGenerator],
    extra_context: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    skipped: list[SkippedFile] | None = None,
) -> list[RenderedFile]:
    """Render every file of ``template``; raise a :class:`LaunchpadError` on any problem.
    The files left out, with the reason, are added to ``skipped`` when it is given."""
    with deadline(engine.limits.render_seconds):
        engine.precompile_template(template)  # already done when the template was checked
        context = render_context(template, answers, extra_context or {})
        run = _Run(template, engine, context, progress, skipped=skipped)
        total = len(template.files)
        for done, spec in enumerate(template.files, start=1):
            _render_spec(run, spec, literal=False)
            if progress is not None:
                progress(done, total, spec.path, run.total_bytes)
        _add_answers_file(run, answers)
        _add_generated(run, generators, answers)
    return run.output()


def render_context(
    template: Template, answers: Answers, extra: Mapping[str, Any]
) -> dict[str, Any]:
    """The context files are rendered with: ``extra`` (plugins'), the answers, and the
    answers again under ``settings.context_name``."""
    context = {**extra, **answers.values}
    name = template.settings.context_name
    if name:
        context[name] = {**context.get(name, {}), **answers.values}
    for key, value in context.items():
        _ensure_plain(value, key)
    return context


def _ensure_plain(value: Any, where: str, depth: int = 0) -> None:
    """The render context holds only plain data, never server objects."""
    if depth > 32:
        raise SecurityError(f"context value {where!r} nests too deeply")
    if isinstance(value, _PLAIN_SCALARS):
        return
    if isinstance(value, list | tuple):
        for item in value:
            _ensure_plain(item, where, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise SecurityError(f"context value {where!r} has a non-string key")
            _ensure_plain(item, where, depth + 1)
        return
    raise SecurityError(f"context value {where!r} is a {type(value).__name__}, not plain data")


def _render_spec(run: _Run, spec: FileSpec, *, literal: bool) -> None:
    engine, envops = run.engine, run.settings.envops
    if not engine.evaluate(envops, spec.when, run.context, f"when of {spec.path}"):
        run.skip(spec, "when")
        return
    path = spec.path if literal else _output_path(run, spec.path)
    if not path:
        run.skip(spec, "empty_path")
        return
    out = check_output_path(path, source=spec.path)
    if spec.is_dir:
        _add_folder(run, spec, out)
        return
    if matches(run.settings.exclude, spec.path, out):
        run.skip(spec, "excluded")
        return
    data = _content(run, spec, out, literal=literal)
    if spec.symlink:
        check_link_target(out, data.decode("utf-8"), source=spec.path)
    run.add(
        RenderedFile(
            path=out,
            data=data,
            mode=spec.mode,
            skip_if_exists=spec.skip_if_exists
            or matches(run.settings.skip_if_exists, spec.path, out),
            source=spec.path,
            symlink=spec.symlink,
        )
    )


def _add_folder(run: _Run, spec: FileSpec, out: str) -> None:
    """A directory entry, matched against ``exclude`` with its trailing '/'."""
    if not matches(run.settings.exclude, spec.path, f"{out}/"):
        folder = RenderedFile(path=out, data=b"", mode=spec.mode, source=spec.path, is_dir=True)
        run.add_folder(folder)


def _output_path(run: _Run, source: str) -> str | None:
    """Render a path segment by segment; a segment that renders empty skips the file."""
    parts = []
    for segment in source.split("/"):
        if not segment:
            continue
        rendered = run.engine.render_text(run.settings.envops, segment, run.context, source)
        if not rendered:
            return None
        parts.append(rendered)
    return "/".join(parts)


def _content(run: _Run, spec: FileSpec, out: str, *, literal: bool) -> bytes:
    if spec.is_binary or literal or not spec.render:
        return spec.data
    if matches(run.settings.copy_without_render, spec.path, out):
        return spec.data
    limits = run.engine.limits
    left = limits.max_total_bytes - run.total_bytes
    try:  # stopped as it passes the room left; the size in bytes is checked after
        text = run.engine.render_text(
            run.settings.envops, spec.content, run.context, spec.path,
            max_chars=min(limits.max_file_bytes, left),
        )
    except LimitExceededError:
        if left < limits.max_file_bytes:
            raise run.over_total() from None
        raise
    return text.encode("utf-8")


def _add_answers_file(run: _Run, answers: Answers) -> None:
    if not run.settings.answers_file:
        return
    header = f"# Answers LaunchPad rendered this project with ({run.template.name})\n"
    record = {"_template": run.template.name, "_version": run.template.version}
    origin = run.settings.origin
    record.update({f"_{key}": origin[k] for key, k in _RECORDED_ORIGIN if origin.get(k)})
    record.update(answers.public())
    import yaml

    body = yaml.safe_dump(record, sort_keys=False, allow_unicode=True)
    spec = FileSpec(path=run.settings.answers_file, content=header + body, render=False)
    _render_spec(run, spec, literal=False)


def _add_generated(
    run: _Run, generators: Mapping[str, FileGenerator], answers: Answers
) -> None:
    taken = {f.path for f in run.files}
    for name, options in run.settings.generators.items():
        generator = generators.get(name)
        if generator is None:
            raise LaunchpadError(f"no plugin provides the file generator {name!r}")
        rendered_options = _render_options(run, name, options)
        try:
            specs = generator.generate(rendered_options, answers)
        except ValueError as exc:
            raise LaunchpadError(f"file generator {name!r}: {exc}") from None
        for spec in _not_taken(specs, taken):
            _render_spec(run, spec, literal=True)


def _render_options(run: _Run, name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    envops = run.settings.envops
    return {
        key: run.engine.render_text(envops, value, run.context, f"generator {name}.{key}")
        if isinstance(value, str)
        else value
        for key, value in options.items()
    }


def _not_taken(specs: Iterable[FileSpec], taken: set[str]) -> Iterable[FileSpec]:
    return (spec for spec in specs if spec.path not in taken)
