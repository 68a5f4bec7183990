"""Checks of a structured definition that types alone cannot express.

Each problem carries the JSON path of the field it concerns, so an editor or
the API's 422 answer can point at it. Compiling every Jinja source here also
fills the engine's cache, so a validated template renders without compiling.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from ..errors import LaunchpadError, Problem
from ..model.template import NAME_PATTERN, FileSpec, Settings, Template, Variable, is_valid_base64
from ..model.variables import VariableType
from . import regexes
from .engine import Engine
from .paths import check_link_target, check_output_path
from .rendering import globs

_NAME = re.compile(NAME_PATTERN)


def check_template(
    template: Template,
    *,
    types: Mapping[str, VariableType],
    generators: Mapping[str, object],
    engine: Engine,
) -> list[Problem]:
    """Every problem of ``template`` (empty when it is valid)."""
    checker = _Checker(template, types, generators, engine)
    return list(checker.problems())


class _Checker:
    def __init__(self, template: Template, types, generators, engine: Engine):
        self.template = template
        self.types = types
        self.generators = generators
        self.engine = engine
        self.envops = template.settings.envops

    def problems(self) -> Iterator[Problem]:
        self.engine.precompile_template(self.template)  # together: pack cache or processes
        if not self.template.name.strip():
            yield Problem("required", "the template needs a name", "$.name")
        seen: set[str] = set()
        for i, var in enumerate(self.template.variables):
            where = f"$.variables[{i}]"
            if var.name in seen:
                yield Problem("duplicate", f"variable {var.name!r} is defined twice", where)
            seen.add(var.name)
            yield from self.variable(var, where)
        sources: set[str] = set()
        for i, spec in enumerate(self.template.files):
            where = f"$.files[{i}]"
            if spec.path in sources:
                yield Problem("duplicate", f"file {spec.path!r} is listed twice", where)
            sources.add(spec.path)
            yield from self.file(spec, where)
        yield from self.settings(self.template.settings, seen)

    def jinja(self, source: object, where: str, *, expression: bool = False) -> Iterator[Problem]:
        if not isinstance(source, str) or not source:
            return
        try:
            if expression and not self.engine.needs_jinja(self.envops, source):
                self.engine.compile_expression(self.envops, source, where)
            elif self.engine.needs_jinja(self.envops, source):
                self.engine.compile(self.envops, source, where)
        except LaunchpadError as exc:
            yield Problem("template_syntax", exc.message, where)
        except Exception as exc:  # compile_expression raises Jinja's own errors
            yield Problem("template_syntax", str(exc), where)

    def variable(self, var: Variable, where: str) -> Iterator[Problem]:
        if not _NAME.match(var.name):
            yield Problem("invalid_name", "a variable name is a Python-style identifier",
                          f"{where}.name")
        kind = self.types.get(var.type)
        if kind is None:
            known = ", ".join(sorted(self.types))
            yield Problem("unknown_type", f"unknown type {var.type!r} (known: {known})",
                          f"{where}.type")
            return
        if kind.needs_choices and not var.choices:
            yield Problem("required", f"a {var.type} variable needs choices", f"{where}.choices")
        values = [repr(c.value) for c in var.choices]
        if len(set(values)) != len(values):
            yield Problem("duplicate", "choices repeat a value", f"{where}.choices")
        if var.pattern is not None:
            try:
                regexes.compile(var.pattern)
            except regexes.error as exc:
                yield Problem("invalid_pattern", f"not a regular expression: {exc}",
                              f"{where}.pattern")
        yield from self.jinja(var.validator, f"{where}.validator")
        yield from self.jinja(var.when, f"{where}.when", expression=True)
        yield from self.default(var, kind, where)

    def default(self, var: Variable, kind: VariableType, where: str) -> Iterator[Problem]:
        default = var.default
        if default is None:
            return
        if isinstance(default, str) and self.engine.needs_jinja(self.envops, default):
            yield from self.jinja(default, f"{where}.default")
            return
        try:
            kind.coerce(default, var, isinstance(default, str))
        except ValueError as exc:
            yield Problem("invalid_default", f"the default does not fit: {exc}",
                          f"{where}.default")

    def file(self, spec: FileSpec, where: str) -> Iterator[Problem]:
        if not spec.path.strip("/"):
            yield Problem("required", "a file needs a path", f"{where}.path")
            return
        if self.engine.needs_jinja(self.envops, spec.path):
            # Compiled segment by segment, the way rendering uses them.
            for segment in spec.path.split("/"):
                yield from self.jinja(segment, f"{where}.path")
        else:
            try:
                check_output_path(spec.path, source=spec.path)
            except LaunchpadError as exc:
                yield Problem(exc.code, exc.message, f"{where}.path")
        yield from self.jinja(spec.when, f"{where}.when", expression=True)
        if spec.is_dir and spec.content:
            yield Problem("directory_content", "a directory entry (a path ending in '/') "
                          "has no content", f"{where}.content")
        elif spec.is_binary:
            if not is_valid_base64(spec.content):
                yield Problem("invalid_base64", "the content is not valid base64",
                              f"{where}.content")
        elif spec.render:
            yield from self.jinja(spec.content, f"{where}.content")
        if spec.symlink:
            yield from self.link(spec, where)

    def link(self, spec: FileSpec, where: str) -> Iterator[Problem]:
        """A symbolic link is text, no folder; a static target stays inside the destination."""
        if spec.is_dir or spec.is_binary:
            yield Problem("invalid_link", "a symbolic link is no folder and its target is "
                          "text (encoding utf-8)", f"{where}.symlink")
            return
        static = not (spec.render and self.engine.needs_jinja(self.envops, spec.content))
        if static and not self.engine.needs_jinja(self.envops, spec.path):
            try:
                path = check_output_path(spec.path, source=spec.path)
                check_link_target(path, spec.content, source=spec.path)
            except LaunchpadError as exc:
                yield Problem(exc.code, exc.message, f"{where}.content")

    def settings(self, settings: Settings, variables: set[str]) -> Iterator[Problem]:
        for field in ("copy_without_render", "exclude", "skip_if_exists"):
            patterns = getattr(settings, field)
            if not patterns:
                continue
            try:
                globs(tuple(patterns))
            except (ValueError, TypeError) as exc:
                yield Problem("invalid_glob", str(exc), f"$.settings.{field}")
        for name in settings.generators:
            if name not in self.generators:
                yield Problem("unknown_generator", f"no plugin provides the generator {name!r}",
                              f"$.settings.generators.{name}")
        if settings.context_name is not None:
            if not _NAME.match(settings.context_name):
                yield Problem("invalid_name", "context_name is a Python-style identifier",
                              "$.settings.context_name")
            elif settings.context_name in variables:
                yield Problem("duplicate", "context_name is also a variable's name",
                              "$.settings.context_name")
        yield from self.jinja(settings.answers_file, "$.settings.answers_file")
