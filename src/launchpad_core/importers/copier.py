"""Default plugin: import Copier templates and render them as Copier 9 does.

The importer turns ``copier.yml`` and the file tree into a definition; the
hooks give imported templates what Copier gives every template: its filters,
``pathjoin``, the ``yaml`` and ``path`` question types, and the render context
(``_copier_answers``, ``_copier_conf``, ``_folder_name`` ...), so a template's
own ``{{ _copier_conf.answers_file }}.jinja`` writes the answers file Copier
would write.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import LoadError
from ..model.answers import Answers
from ..model.template import EnvOptions, FileSpec, Settings, Template, Variable
from ..model.variables import VariableType
from ..plugins.hookspecs import hookimpl
from ..render.deadline import deadline
from ..render.engine import Engine
from . import copier_filters
from .copier_exclude import EXCLUDED_GLOBAL, SHADOWED_CONTEXT, path_excluded
from .copier_questions import (
    COPIER_VARIABLE_TYPES,
    condition,
    is_yaml_timestamp,
    to_variable,
)
from .jinja_text import envops_from, has_markup, literal

if TYPE_CHECKING:
    from .copier_config import CopierConfig
    from .source_tree import TreeReader

FORMAT = "copier"
#: Context names a question's default or condition may use; they become hidden variables.
QUESTION_CONTEXT = ("_folder_name", "_src_path", "_copier_python")
#: Renders the answers file's templated path (in the render context, before the render).
_ENGINE = Engine()
_JSON_TYPES = (dict, list, str, int, float, bool, type(None))
_TASK_VARIABLES = {"_stage": "task", "_copier_operation": "copy", "_copier_phase": "tasks"}
_OS = {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(sys.platform)


class CopierImporter:
    """Imports a directory with ``copier.yml`` (or ``copier.yaml``)."""

    name = FORMAT

    def detect(self, path: Path) -> bool:
        from .copier_config import config_path

        try:
            return config_path(path) is not None
        except LoadError:
            return True  # two configuration files: load() says why it fails

    def load(self, path: Path, *, trusted: bool) -> Template:
        # what reads a template, here: every command registers this plugin, few load one
        from .copier_config import load_config
        from .copier_tree import copier_files
        from .source_tree import TreeReader

        config = load_config(path)
        envops = envops_from(config.settings.get("envops", {}), where="_envops", strict=False)
        if config.settings.get("external_data"):
            raise LoadError("_external_data is not supported (it reads the destination)")
        clone = None
        if (path / ".git").exists():  # a repository's top level, which Copier clones
            from .git_checkout import fresh_clone

            clone = fresh_clone(path)
        reader = TreeReader(path, clone=clone)
        tree = copier_files(reader, config, envops)
        extensions = tuple(str(e) for e in config.settings.get("jinja_extensions", ()))
        origin = {
            "format": FORMAT,
            "source": str(path),
            "template_path": str(reader.root),
            "answers_file": config.answers_file,
            "exclude": list(config.exclude),
        }
        if clone is not None:
            origin["commit"], origin["commit_hash"] = clone.describe, clone.commit_hash
        if tree.shadowed:
            origin["shadowed"] = list(tree.shadowed)
        if tree.skipped_git:
            origin["warnings"] = [_git_warning(tree.skipped_git)]
        questions = [to_variable(n, q, envops) for n, q in config.questions.items()]
        settings = Settings(
            exclude=tree.exclude,
            skip_if_exists=tuple(p for p in config.skip_if_exists if not has_markup(p, envops)),
            envops=envops,
            origin=origin,
            jinja_extensions=extensions,
            tasks=_tasks(config, envops),
            code_files=tuple(_extension_modules(reader, extensions)),
        )
        hidden = _hidden_variables(config, origin, envops)
        return Template(
            name=reader.root.name,
            description=f"Imported from the Copier template {path.name}",
            variables=(*hidden, *questions),
            files=tree.files,
            settings=settings,
        )

    def bind_destination(self, template: Template, destination: Path) -> Template:
        values = _question_context(template.settings.origin)
        variables = tuple(
            attrs.evolve(v, default=literal(values[v.name], template.settings.envops))
            if v.name in QUESTION_CONTEXT
            else v
            for v in template.variables
        )
        return attrs.evolve(template, variables=variables)


def _git_warning(paths: tuple[str, ...]) -> str:
    return (
        f"skipped {', '.join(paths)}: LaunchPad never writes a '.git' "
        "(Copier would copy it: this template's _exclude replaces Copier's defaults)"
    )


def _extension_modules(reader: TreeReader, extensions: tuple[str, ...]) -> Iterator[FileSpec]:
    """The template's own extension modules, named ``path/to/module.py:Class``: what
    ``copier-template-extensions`` loads from the template root (the loader's search path)."""
    for extension in extensions:
        module, colon, _name = extension.partition(":")
        path = reader.root / module
        if colon and path.is_file():
            yield FileSpec(path=PurePosixPath(module).as_posix(), content=reader.text(path))


def _hidden_variables(config: CopierConfig, origin: dict[str, Any], envops: EnvOptions):
    """Hidden variables for the context names the questions use (Copier has them at ask time)."""
    text = repr(config.questions)
    values = _question_context(origin)
    return [
        Variable(name=name, default=literal(values[name], envops), when=False)
        for name in QUESTION_CONTEXT
        if name in text
    ]


def _tasks(config: CopierConfig, envops: EnvOptions) -> tuple[dict[str, Any], ...]:
    env = {k[1:].upper(): v for k, v in _TASK_VARIABLES.items() if k != "_copier_phase"}
    tasks: list[dict[str, Any]] = []
    for task in config.settings.get("tasks", ()):
        spec = task if isinstance(task, dict) else {"command": task}
        if "command" not in spec:
            raise LoadError(f"a task needs a command: {task!r}")
        tasks.append(
            {
                "stage": "after",
                "command": spec["command"],
                "when": condition(spec.get("when", True), envops),
                "working_directory": str(spec.get("working_directory", ".")),
                "variables": dict(_TASK_VARIABLES),
                "env": env,
            }
        )
    migrations = config.settings.get("migrations", ())
    tasks.extend({"stage": "migration", "migration": m} for m in migrations)
    return tuple(tasks)


def _question_context(origin: Mapping[str, Any]) -> dict[str, str]:
    destination = origin.get("destination")
    return {
        "_folder_name": Path(destination).absolute().name if destination else "",
        "_src_path": str(origin.get("source", "")),
        "_copier_python": sys.executable,
    }


def _answers_file(origin: Mapping[str, Any], values: Mapping[str, Any], envops: EnvOptions) -> str:
    path = str(origin.get("answers_file", ".copier-answers.yml"))
    if has_markup(path, envops):  # the template's code: in the bounded sandbox, in time
        lenient = attrs.evolve(envops, strict_undefined=False)
        context = {**values, "_copier_conf": {"answers_file": ""}}
        with deadline(_ENGINE.limits.render_seconds):
            path = _ENGINE.render_text(lenient, path, context, "_answers_file")
    return str(PurePosixPath(path))


def excluded_by(template: Template, context: Mapping[str, Any], engine: Engine) -> Any:
    """Whether an output path matches the template's ``_exclude`` rendered with
    ``context``: what Copier's update leaves out of the old version it renders again."""
    envops = template.settings.envops
    text = "\n".join(template.settings.origin.get("exclude", ()))
    with deadline(engine.limits.render_seconds):
        text = engine.render_text(envops, text, context, "_exclude")
    return functools.partial(path_excluded, text)


def _is_remembered(var: Variable, answers: Answers) -> bool:
    """Copier records answered, shown, non-secret questions with JSON values."""
    if var.name.startswith("_") or var.name not in answers.values:
        return False
    if var.name in answers.skipped or var.secret:
        return False
    value = answers.values[var.name]
    if var.type == "yaml" and is_yaml_timestamp(value):
        return False  # a date to Copier, which is not JSON
    return isinstance(value, _JSON_TYPES)


def _remembered(template: Template, answers: Answers) -> dict[str, Any]:
    """``_copier_answers``: what Copier writes to the answers file, in its order."""
    origin = template.settings.origin
    commit = {"_commit": origin["commit"]} if origin.get("commit") else {}
    record: dict[str, Any] = {**commit, "_src_path": origin.get("source", "")}
    record.update(
        (v.name, answers.values[v.name]) for v in template.variables if _is_remembered(v, answers)
    )
    return record


def copier_context(template: Template, answers: Answers) -> dict[str, Any]:
    origin = template.settings.origin
    question_context = _question_context(origin)
    conf = {
        "src_path": origin.get("template_path", ""),
        "dst_path": origin.get("destination", "."),
        "answers_file": _answers_file(origin, answers.values, template.settings.envops),
        "vcs_ref": origin.get("vcs_ref"),
        "vcs_ref_hash": origin.get("commit_hash"),
        "data": {},
        "exclude": [],
        "use_prereleases": False,
        "skip_if_exists": [],
        "cleanup_on_error": True,
        "defaults": False,
        "user_defaults": {},
        "overwrite": False,
        "pretend": False,
        "quiet": False,
        "conflict": "inline",
        "context_lines": 3,
        "unsafe": False,
        "skip_answered": False,
        "skip_tasks": False,
        "sep": "/",
        "os": _OS,
    }
    return {
        **question_context,
        "_copier_answers": _remembered(template, answers),
        "_copier_conf": conf,
        "_copier_phase": "render",
        "_external_data": {},
        SHADOWED_CONTEXT: list(origin.get("shadowed", ())),
    }


@hookimpl
def launchpad_template_importers() -> list[CopierImporter]:
    return [CopierImporter()]


@hookimpl
def launchpad_variable_types() -> list[VariableType]:
    return list(COPIER_VARIABLE_TYPES)


@hookimpl
def launchpad_jinja_filters() -> Mapping[str, Any]:
    return copier_filters.FILTERS


@hookimpl
def launchpad_jinja_globals() -> Mapping[str, Any]:
    return {**copier_filters.GLOBALS, EXCLUDED_GLOBAL: path_excluded}


@hookimpl
def launchpad_render_context(template: Template, answers: Answers) -> Mapping[str, Any] | None:
    if template.settings.origin.get("format") != FORMAT:
        return None
    return copier_context(template, answers)
