"""What a hosted service evaluates of a user's template, as plain calls for isolated children.

Checking a definition (its Jinja compiled), resolving answers (defaults,
``when``, ``pattern`` and validators) and rendering a preview all run template
code. A service runs them through one boundary, an
:class:`~launchpad_core.isolation.children.IsolationPool`, never in its own request
threads: these functions are what the children call. Arguments and results
are plain, picklable data (a :class:`Template` is a frozen attrs value); each
builds its :class:`Launchpad` from the process-wide plugins, which the fork
server has already loaded (``preload(__name__)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..errors import AnswersError, DefinitionError, Problem
from ..launchpad import Launchpad, default_launchpad
from ..model.answers import Answers
from ..model.output import RenderedFile
from ..model.template import Template
from ..render.limits import Limits
from ..render.rendering import SkippedFile
from ..render.trust import executable_parts


def _launchpad(limits: Limits | None) -> Launchpad:
    base = default_launchpad()
    return base if limits is None else Launchpad(plugin_manager=base.hooks.pm, limits=limits)


def definition_problems(definition: Any, limits: Limits | None = None) -> list[Problem]:
    """Every problem of a definition a user wants to save (empty when it may be saved):
    its structure, each Jinja source compiled, and no Jinja extension (the hosted
    service never runs a template's code; its tasks and hooks are skipped)."""
    from ..model.serialization import structure_template

    try:
        template = structure_template(definition)
    except DefinitionError as exc:
        return list(exc.problems)
    return [
        *_launchpad(limits).problems(template),
        *(
            Problem(
                "untrusted_code",
                f"the hosted service never runs a template's code; remove {part}",
                f"$.settings.{part}",
            )
            for part in unskippable_code(template)
        ),
    ]


def unskippable_code(template: Template) -> list[str]:
    """What of ``template`` would run code and cannot be left out: Jinja extensions
    (rendering needs them). Tasks and hooks can: the service renders without them, as
    Copier's ``--skip-tasks`` and Cookiecutter's ``--accept-hooks no`` do."""
    return [part for part in executable_parts(template) if part != "tasks"]


def answers_run_code(template: Template) -> bool:
    """Whether checking answers against ``template`` evaluates any of its code: a ``when``
    expression, a validator, a pattern, or a default with Jinja markup. Without any,
    resolving only coerces values with the variable types (the service's own plugins),
    so a service may check such answers in its own process."""
    markers = template.settings.envops.markers

    def marked(value: Any) -> bool:  # Jinja markup anywhere in a value, nested or not
        if isinstance(value, str):
            return any(m in value for m in markers)
        if isinstance(value, list | tuple):
            return any(marked(v) for v in value)
        if isinstance(value, dict):
            return any(marked(k) or marked(v) for k, v in value.items())
        return False

    return any(
        not isinstance(var.when, bool) or var.validator or var.pattern is not None
        or marked(var.default) or any(marked(c.value) or marked(c.label) for c in var.choices)
        for var in template.variables
    )


def resolved_answers(
    template: Template, given: Mapping[str, Any], limits: Limits | None = None
) -> Answers:
    """``given`` checked against ``template`` (:class:`AnswersError` lists every problem)."""
    return _launchpad(limits).resolve_answers(template, given)


@attrs.frozen
class FormState:
    """A generate form's questions as the answers so far make them: which apply (their
    ``when``), each one's value (the answer given, else its default now), and the
    problems of the answers given. Secret variables carry no value."""

    values: dict[str, Any]
    skipped: tuple[str, ...]
    problems: tuple[Problem, ...]


def form_state(
    template: Template, given: Mapping[str, Any], from_text: bool = False,
    limits: Limits | None = None,
) -> FormState:
    """``given`` resolved against ``template`` as far as it goes (see :class:`FormState`)."""
    try:
        answers = _launchpad(limits).resolve_answers(template, given, from_text=from_text)
        problems: tuple[Problem, ...] = ()
    except AnswersError as exc:
        answers = getattr(exc, "partial", None) or Answers(values={}, secret=frozenset(),
                                                           skipped=frozenset())
        problems = tuple(exc.problems)
    secret = {v.name for v in template.variables if v.secret}
    return FormState(
        values={k: v for k, v in answers.values.items() if k not in secret},
        skipped=tuple(v.name for v in template.variables if v.name in answers.skipped),
        problems=problems,
    )


def rendered_files(
    template: Template, given: Mapping[str, Any], limits: Limits | None = None
) -> list[RenderedFile]:
    """``template`` rendered in memory with ``given`` resolved first (a preview)."""
    launchpad = _launchpad(limits)
    return launchpad.render(template, launchpad.resolve_answers(template, given))


def previewed(
    template: Template, given: Mapping[str, Any], limits: Limits | None = None
) -> tuple[list[RenderedFile], list[SkippedFile]]:
    """:func:`rendered_files`, with the template's files left out and why (the builder
    shows them: a ``when`` that is false, a path part that renders empty, ``exclude``)."""
    launchpad = _launchpad(limits)
    skipped: list[SkippedFile] = []
    files = launchpad.render(template, launchpad.resolve_answers(template, given),
                             skipped=skipped)
    return files, skipped


def imported_definition(archive: bytes, format: str | None, max_files: int, max_bytes: int,
                        limits: Limits | None = None) -> dict[str, Any]:
    """The definition of the template directory zipped in ``archive`` (a Copier,
    Cookiecutter or LaunchPad template, ``format`` or detected), as the API stores it:
    unpacked into a temporary folder (see :mod:`~launchpad_core.sources.zips`),
    imported untrusted with its tasks and hooks left out (and stated), checked."""
    import tempfile
    from pathlib import Path

    from ..importers.importing import import_template, portable
    from ..sources.zips import unpack

    launchpad = _launchpad(limits)
    with tempfile.TemporaryDirectory(prefix="launchpad-import-") as folder:
        root = unpack(archive, Path(folder), max_bytes=max_bytes, max_files=max_files)
        template = import_template(root, format, trusted=False, skip_tasks=True,
                                   launchpad=launchpad)
    return launchpad.unstructure(portable(template))
