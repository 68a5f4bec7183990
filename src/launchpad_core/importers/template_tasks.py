"""Running a template's tasks (Copier ``_tasks``, Cookiecutter hooks) around writing.

Tasks are executed code, so they run only for a trusted template and only
locally, in the output directory, never in the hosted service. Each task of
``settings.tasks`` is plain data:

* ``stage``: ``before`` (nothing rendered or written yet; Cookiecutter's
  ``pre_gen_project``), ``after`` (every file written) or ``migration``
  (recorded from Copier, never run: LaunchPad has no update);
* ``command`` (a shell line, or a list of arguments run without a shell) or
  ``script`` (the path of one of ``settings.code_files``, run as a program, with
  the Python running LaunchPad for ``.py`` files);
* ``when``, ``working_directory`` (relative to the destination), both Jinja
  over the answers, and ``variables`` and ``env`` added for this task.

Commands, scripts and paths are rendered exactly like the template's files,
with the same render context. A script may change the answers while it is
rendered, as Cookiecutter's hooks do (``{{ cookiecutter.update({...}) }}`` in
the ``context_name`` mapping): :func:`run_tasks_before` returns the answers so
changed, for the files and the later tasks.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import LaunchpadError, UntrustedCodeError
from ..model.answers import Answers
from ..model.template import FileSpec, Template
from ..render.trust import code_directory, trusting
from .importing import with_destination

if TYPE_CHECKING:
    from ..launchpad import Launchpad

STAGES = ("before", "after")


class TaskError(LaunchpadError):
    """A task or hook script failed."""

    code = "task_failed"


@attrs.frozen
class PreparedTask:
    """One task rendered for the answers: what to run, where, with which environment."""

    command: str | tuple[str, ...] | None
    script: str | None
    script_suffix: str
    cwd: Path
    env: Mapping[str, str]


def run_script(path: Path, cwd: Path) -> None:
    """Run a script file as Cookiecutter runs hooks (Python files with this Python)."""
    path.chmod(path.stat().st_mode | 0o111)
    argv = [sys.executable, str(path)] if path.suffix == ".py" else [str(path)]
    try:
        status = subprocess.run(argv, cwd=cwd, check=False).returncode
    except OSError as exc:
        raise TaskError(f"the script {path.name} could not run: {exc}") from exc
    if status:
        raise TaskError(f"the script {path.name} failed (exit status {status})")


def run_tasks(
    template: Template,
    answers: Answers,
    destination: str | Path,
    *,
    stage: str,
    trusted: bool,
    launchpad: Launchpad | None = None,
) -> int:
    """Run the tasks of ``stage`` in ``destination``; return how many ran."""
    return _run_stage(template, answers, destination, stage=stage, trusted=trusted,
                      launchpad=launchpad)[0]


def run_tasks_before(
    template: Template,
    answers: Answers,
    destination: str | Path,
    *,
    trusted: bool,
    launchpad: Launchpad | None = None,
) -> tuple[Template, Answers]:
    """Run the ``before`` tasks, before the files are rendered (where Cookiecutter runs
    ``pre_gen_project``); return the template and the answers to render it with.

    The answers hold what the tasks' scripts changed; when they changed any, the
    folder a task ran in keeps the name it had then (Cookiecutter names the project
    folder before its hooks run): the template's paths below that templated folder
    start with the name rendered instead."""
    _done, pinned, changed = _run_stage(
        template, answers, destination, stage="before", trusted=trusted, launchpad=launchpad
    )
    return (template, answers) if changed == answers else (pinned, changed)


def _run_stage(
    template: Template,
    answers: Answers,
    destination: str | Path,
    *,
    stage: str,
    trusted: bool,
    launchpad: Launchpad | None,
) -> tuple[int, Template, Answers]:
    """How many tasks ran, the template with the folders they ran in named as they were
    then, and the answers as their scripts left them."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}")
    tasks = [t for t in template.settings.tasks if t.get("stage") == stage]
    if not tasks:
        return 0, template, answers
    if not trusted:
        raise UntrustedCodeError(
            "the template runs tasks or hook scripts; refused unless it is trusted "
            "(--trust on the command line)"
        )
    from ..launchpad import default_launchpad

    lp = launchpad or default_launchpad()
    bound = with_destination(template, destination, launchpad=lp)
    root = Path(destination).absolute()
    done = 0
    for task in tasks:
        prepared, changed = _prepare(lp, bound, answers, task, root)
        if prepared is not None:
            template = _pinned(template, str(task.get("working_directory", ".")),
                               prepared.cwd.relative_to(root).as_posix())
            _run(prepared)
            done += 1
        answers = changed
    return done, template, answers


def _pinned(template: Template, folder: str, rendered: str) -> Template:
    """``template`` with the templated ``folder`` rendered where its paths and its
    tasks' working directories start with it."""
    envops = template.settings.envops
    if not any(m in folder for m in envops.markers) or any(m in rendered for m in envops.markers):
        return template

    def pin(path: str) -> str:
        inside = path == folder or path.startswith(f"{folder}/")
        return rendered + path[len(folder):] if inside else path

    files = tuple(attrs.evolve(f, path=pin(f.path)) for f in template.files)
    tasks = tuple(
        {**t, "working_directory": pin(str(t["working_directory"]))}
        if "working_directory" in t else t
        for t in template.settings.tasks
    )
    settings = attrs.evolve(template.settings, tasks=tasks)
    return attrs.evolve(template, files=files, settings=settings)


@contextlib.contextmanager
def extension_path(template: Template) -> Iterator[tuple[str, ...]]:
    """The template's Jinja extensions, with its own modules importable meanwhile.

    Cookiecutter puts the template directory on ``sys.path`` so that
    ``_extensions`` may name modules beside ``cookiecutter.json``; the importer
    keeps those modules in ``settings.code_files``. Only for trusted templates.
    """
    root = code_directory(template)
    if root is None:
        yield template.settings.jinja_extensions
        return
    sys.path.append(root)
    try:
        yield template.settings.jinja_extensions
    finally:
        sys.path.remove(root)


def _prepare(
    lp: Launchpad, template: Template, answers: Answers, task: Mapping[str, Any], root: Path
) -> tuple[PreparedTask | None, Answers]:
    """Render the task's parts with the template's context (None when its ``when`` is
    false), and the answers as its script changed them."""
    command = task.get("command")
    parts: list[FileSpec] = [
        FileSpec(path="when", content="", when=task.get("when", True)),
        FileSpec(path="cwd", content=str(task.get("working_directory", "."))),
    ]
    if isinstance(command, list):
        parts += [FileSpec(path=f"argv/{i:06d}", content=str(a)) for i, a in enumerate(command)]
    elif command is not None:
        parts.append(FileSpec(path="command", content=str(command)))
    script = _code_file(template, task.get("script"))
    values = {**answers.values, **task.get("variables", {})}
    rendered = _render_parts(lp, template, attrs.evolve(answers, values=values), parts)
    if "when" not in rendered:
        return None, answers
    text = None
    if script is not None:
        text, answers = _render_script(lp, template, answers, script)
    argv = tuple(v for k, v in sorted(rendered.items()) if k.startswith("argv/"))
    prepared = PreparedTask(
        command=argv or rendered.get("command"),
        script=text,
        script_suffix=Path(script.path).suffix if script is not None else "",
        cwd=root / rendered["cwd"],
        env={str(k): str(v) for k, v in task.get("env", {}).items()},
    )
    return prepared, answers


def _render_script(
    lp: Launchpad, template: Template, answers: Answers, script: FileSpec
) -> tuple[str, Answers]:
    """A hook script rendered as Cookiecutter renders it, and the answers with what the
    rendering changed in the ``context_name`` mapping (``cookiecutter.update(...)``)."""
    from ..render.rendering import render_context

    trusted = trusting(template)
    extra = lp.hooks.render_context(template=trusted, answers=answers)
    context = render_context(trusted, answers, extra)
    envops = trusted.settings.envops
    text = script.content
    if script.render and lp.engine.needs_jinja(envops, text):
        text = lp.engine.render_text(envops, text, context, script.path)
    name = template.settings.context_name
    mapping = context.get(name, {}) if name else {}
    given = extra.get(name, {}) if name else {}  # the plugin's own keys (_template ...)
    changed = {
        k: v
        for k, v in mapping.items()
        if (answers.values[k] != v if k in answers.values else k not in given)
    }
    if not changed:
        return text, answers
    return text, attrs.evolve(answers, values={**answers.values, **changed})


def _code_file(template: Template, path: str | None) -> FileSpec | None:
    if path is None:
        return None
    found = next((f for f in template.settings.code_files if f.path == path), None)
    if found is None:
        raise TaskError(f"the task names a script that the template does not hold: {path}")
    return found


def _render_parts(
    lp: Launchpad, template: Template, answers: Answers, parts: Sequence[FileSpec]
) -> dict[str, str]:
    settings = attrs.evolve(
        template.settings,
        exclude=(),
        skip_if_exists=(),
        copy_without_render=(),
        answers_file=None,
        generators={},
    )
    derived = attrs.evolve(template, files=tuple(parts), settings=settings)
    files = lp.render(derived, answers, trusted=True)
    return {f.path: f.data.decode("utf-8") for f in files}


def _run(task: PreparedTask) -> None:
    task.cwd.mkdir(parents=True, exist_ok=True)
    if task.script is not None:
        with tempfile.TemporaryDirectory(prefix="launchpad-hook-") as tmp:
            path = Path(tmp, f"script{task.script_suffix}")
            path.write_text(task.script, encoding="utf-8")
            run_script(path, task.cwd)
        return
    if task.command is None:
        return
    shell = isinstance(task.command, str)
    env = {**os.environ, **task.env}
    try:
        status = subprocess.run(
            task.command, shell=shell, cwd=task.cwd, env=env, check=False
        ).returncode
    except OSError as exc:
        raise TaskError(f"the task {task.command!r} could not run: {exc}") from exc
    if status:
        raise TaskError(f"the task {task.command!r} failed (exit status {status})")
