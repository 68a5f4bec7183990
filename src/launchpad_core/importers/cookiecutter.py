"""Default plugin: import Cookiecutter templates and render them as Cookiecutter 2 does.

Files keep the project folder (``{{ cookiecutter.project_slug }}``) as their
first path segment, so rendering into a directory gives the tree Cookiecutter
gives with that directory as ``output_dir``. The hooks give imported templates
Cookiecutter's filters and globals and its render context: the
``cookiecutter`` mapping in ``cookiecutter.json``'s order with ``_template``,
``_output_dir``, ``_repo_dir`` and ``_checkout``, and ``_cookiecutter``.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from ..errors import LoadError, UntrustedCodeError
from ..model.answers import Answers
from ..model.template import EnvOptions, FileSpec, Settings, Template
from ..model.variables import VariableType
from ..plugins.hookspecs import hookimpl
from . import cookiecutter_ext
from .cookiecutter_context import DICT_TYPE, to_variables
from .cookiecutter_ext import rewrite_now_in, rewrite_now_tags
from .jinja_text import as_jinja_reads, envops_from
from .source_tree import TreeReader

FORMAT = "cookiecutter"
CONTEXT_FILE = "cookiecutter.json"
HOOK_STAGES = {"pre_gen_project": "before", "post_gen_project": "after"}


class CookiecutterImporter:
    """Imports a directory with ``cookiecutter.json``."""

    name = FORMAT

    def detect(self, path: Path) -> bool:
        return (path / CONTEXT_FILE).is_file()

    def load(self, path: Path, *, trusted: bool, skip_tasks: bool = False) -> Template:
        pre_prompt = list(_hook_scripts(path, "pre_prompt"))
        if not pre_prompt or skip_tasks:
            template = _load(path, source=str(path), repo_dir=str(path))
            skipped = [f"hooks/{script.name}" for script in pre_prompt]
            return _record_skipped(template, skipped) if skipped else template
        if not trusted:
            raise UntrustedCodeError(
                f"{path} has a pre_prompt hook, which runs while the template is read; "
                "refused unless it is trusted (--trust on the command line)"
            )
        import shutil
        import tempfile

        from .template_tasks import run_script

        with tempfile.TemporaryDirectory(prefix="cookiecutter") as tmp:
            copy = Path(tmp) / Path(path).resolve().name
            shutil.copytree(path, copy)
            for script in _hook_scripts(copy, "pre_prompt"):
                run_script(script, copy)
            return _load(copy, source=str(path), repo_dir=str(copy))

    def bind_destination(self, template: Template, destination: Path) -> Template:
        return template


def _record_skipped(template: Template, skipped: list[str]) -> Template:
    origin = {**template.settings.origin, "skipped_tasks": skipped}
    return attrs.evolve(template, settings=attrs.evolve(template.settings, origin=origin))


def _hook_scripts(repo: Path, hook: str) -> Iterator[Path]:
    """A hook's scripts in Cookiecutter's order (the order the folder lists them)."""
    hooks = repo / "hooks"
    if not hooks.is_dir():
        return
    for name in os.listdir(hooks):
        if os.path.splitext(name)[0] == hook and not name.endswith("~"):
            yield hooks / name


def _read_context(repo: Path, source: str) -> OrderedDict[str, Any]:
    """``cookiecutter.json`` of ``repo`` (a copy of ``source`` after a pre_prompt hook)."""
    path = repo / CONTEXT_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LoadError(f"{CONTEXT_FILE} is missing", source=source) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.reason if isinstance(exc, UnicodeDecodeError) else exc.strerror or exc
        raise LoadError(f"{CONTEXT_FILE} cannot be read: {reason}", source=source) from None
    try:
        context = json.loads(text, object_pairs_hook=OrderedDict)
    except ValueError as exc:
        raise LoadError(f"{CONTEXT_FILE} is not valid JSON: {exc}", source=source) from None
    if not isinstance(context, dict):
        raise LoadError(f"{CONTEXT_FILE} must hold an object", source=source)
    if {"template", "templates"} & set(context):
        raise LoadError("nested templates: import the chosen template's folder instead")
    return context


def _project_folder(repo: Path, envops: EnvOptions) -> str:
    for name in os.listdir(repo):
        if (
            "cookiecutter" in name
            and envops.variable_start_string in name
            and envops.variable_end_string in name
        ):
            return name
    raise LoadError(f"{repo} has no project folder (a folder named like '{{{{cookiecutter.x}}}}')")


def _load(repo: Path, *, source: str, repo_dir: str) -> Template:
    # Imported here: the plugin loads on every command, importing is rare.
    from .cookiecutter_tree import CookiecutterTree

    context = _read_context(repo, source)
    env_vars = context.get("_jinja2_env_vars", {})
    if "keep_trailing_newline" in env_vars:
        raise LoadError("_jinja2_env_vars may not set keep_trailing_newline (Cookiecutter sets it)")
    envops = envops_from(env_vars, where="_jinja2_env_vars", strict=True)
    reader = TreeReader(repo)
    root = _project_folder(reader.root, envops)
    tree = CookiecutterTree(
        reader,
        root,
        envops,
        copy_without_render=[str(p) for p in context.get("_copy_without_render", ())],
        new_lines=context.get("_new_lines") or None,
    )
    code_files, tasks = _hooks(reader, root, envops)
    extensions = tuple(str(e) for e in context.get("_extensions", ()))
    if extensions:
        code_files += tuple(_modules(reader, extensions))
    origin = {
        "format": FORMAT,
        "source": source,
        "repo_dir": repo_dir,
        "keys": [k for k in context if k != "__prompts__"],
        "original": {k: v for k, v in context.items() if not k.startswith("_")},
    }
    return Template(
        name=reader.root.name,
        description=f"Imported from the Cookiecutter template {Path(source).name}",
        variables=tuple(to_variables(_rendered_values(context, envops), envops)),
        files=tuple(tree.files()),
        settings=Settings(
            envops=envops,
            context_name="cookiecutter",
            origin=origin,
            jinja_extensions=extensions,
            tasks=tasks,
            code_files=code_files,
        ),
    )


def _rendered_values(context: OrderedDict[str, Any], envops: EnvOptions) -> dict[str, Any]:
    """The context with ``{% now %}`` rewritten in the values Cookiecutter renders
    (all but the private ``_x`` ones)."""
    return OrderedDict(
        (k, v if k.startswith("_") and not k.startswith("__") else rewrite_now_in(v, envops))
        for k, v in context.items()
    )


def _hooks(
    reader: TreeReader, root: str, envops: EnvOptions
) -> tuple[tuple[FileSpec, ...], tuple[dict[str, Any], ...]]:
    code_files, tasks = [], []
    for hook, stage in HOOK_STAGES.items():
        for script in _hook_scripts(reader.root, hook):
            rel = f"hooks/{script.name}"
            text = rewrite_now_tags(as_jinja_reads(reader.text(script), envops), envops)
            code_files.append(FileSpec(path=rel, content=text))
            tasks.append({"stage": stage, "script": rel, "working_directory": root})
    return tuple(code_files), tuple(tasks)


def _modules(reader: TreeReader, extensions: tuple[str, ...]) -> Iterator[FileSpec]:
    """Python modules beside ``cookiecutter.json``, and the packages there that
    ``_extensions`` names: Cookiecutter puts the template directory on ``sys.path``."""
    paths = set(reader.root.glob("*.py"))
    for top in {e.partition(".")[0].partition(":")[0] for e in extensions}:
        package = reader.root / top
        if top and package.is_dir():
            paths.update(package.rglob("*.py"))
    for path in sorted(paths):
        yield FileSpec(path=path.relative_to(reader.root).as_posix(), content=reader.text(path))


def _first(options: Any, answer: Any) -> Any:
    """A choice list as Cookiecutter leaves it in ``_cookiecutter``: the answer moved first."""
    if isinstance(options, list) and answer in options:
        return [answer, *(o for o in options if o != answer)]
    return options


def cookiecutter_context(template: Template, answers: Answers) -> dict[str, Any]:
    origin = template.settings.origin
    values = answers.values
    mapping = {k: values[k] for k in origin.get("keys", ()) if k in values}
    destination = origin.get("destination")
    mapping["_template"] = origin.get("source", "")
    if destination is not None:
        mapping["_output_dir"] = os.path.abspath(destination)
    mapping["_repo_dir"] = origin.get("repo_dir", "")
    mapping["_checkout"] = origin.get("vcs_ref")
    original = origin.get("original", {})
    return {
        "cookiecutter": mapping,
        "_cookiecutter": {k: _first(v, values.get(k)) for k, v in original.items()},
    }


@hookimpl
def launchpad_template_importers() -> list[CookiecutterImporter]:
    return [CookiecutterImporter()]


@hookimpl
def launchpad_variable_types() -> list[VariableType]:
    return [DICT_TYPE]


@hookimpl
def launchpad_jinja_filters() -> Mapping[str, Any]:
    return cookiecutter_ext.FILTERS


@hookimpl
def launchpad_jinja_globals() -> Mapping[str, Any]:
    return cookiecutter_ext.GLOBALS


@hookimpl
def launchpad_render_context(template: Template, answers: Answers) -> Mapping[str, Any] | None:
    if template.settings.origin.get("format") != FORMAT:
        return None
    return cookiecutter_context(template, answers)

