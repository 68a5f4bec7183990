"""What runs in the resource-limited child for an update job: both template versions
rendered with the project's answers and merged into the project's files.

The worker checks the project's files out into a folder (the generation's archive,
or the forge repository's default branch); the child renders the version the project
was made from and the target version with the recorded answers (plus the new
questions' answers), plans the three-way merge exactly as ``launchpad update`` does
(:func:`launchpad_core.update.merging.plan_update`) and applies it to that folder
(:func:`launchpad_core.update.project_writes.apply_plan`). Everything crossing the process
boundary is plain data; the worker turns the folder's change into a patch or a commit.

Secret answers: the recorded answers hold :data:`~launchpad_web.jobs.models.REDACTED`
in their place. A secret given again with the update (it travels only in the queue
message) is used for both versions; one not given is *treated as unchanged*: both
versions render it as the same placeholder, so lines using it that the update does
not touch stay as they are in the project. If the update would write the placeholder
anywhere (it changes a line that uses the secret), nothing is applied and the job
fails with ``secret_required`` naming the secret to give again.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from launchpad_core import AnswersError, Launchpad, Problem
from launchpad_core.model.serialization import structure_template
from launchpad_core.model.template import Template
from launchpad_core.update.merging import files_by_path, plan_update
from launchpad_core.update.project_writes import apply_plan

from .render import CompiledCache, _launchpad

#: The answers file a project may hold (refreshed by the update when the template writes it).
ANSWERS_FILE = ".launchpad-answers.yml"
PLACEHOLDER = "__launchpad_unchanged_secret_{name}__"


@attrs.frozen
class UpdateOutcome:
    """What the merge did: paths changed, conflicting (markers written), kept (removed by
    the template but edited: left in place), and renamed (old path, new path)."""

    changed: tuple[str, ...]
    conflicts: tuple[str, ...]
    kept: tuple[str, ...]
    renamed: tuple[tuple[str, str], ...]


@attrs.frozen
class UpdateAnswers:
    """The project's recorded answers (secrets redacted), the update's answers to new or
    changed questions, and the secret answers given again."""

    stored: Mapping[str, Any]
    given: Mapping[str, Any] = attrs.field(factory=dict)
    secrets: Mapping[str, Any] = attrs.field(factory=dict)


def update_project(definitions: tuple[Mapping[str, Any], Mapping[str, Any]],
                   answers: UpdateAnswers, project: str, *, cache: CompiledCache | None = None,
                   apply: bool = True) -> UpdateOutcome:
    """Merge the update from the first of ``definitions`` (the project's version) to the
    second into the files in ``project`` (with ``apply`` False: only say what it would do,
    conflicts included, even where it would need a secret given again)."""
    launchpad = _launchpad(cache)
    old, new = (structure_template(dict(d)) for d in definitions)
    values, unchanged = _values((old, new), answers)
    secret_names = {v.name for t in (old, new) for v in t.variables if v.secret}
    given = {k: v for k, v in answers.given.items() if k not in secret_names}  # stored redacted
    old_files = _render(launchpad, old, values)
    new_files = _render(launchpad, new, {**values, **given})
    folder = Path(project)
    plan = plan_update(folder, files_by_path(old_files), files_by_path(new_files),
                       answers_path=ANSWERS_FILE)
    leaked = sorted(name for name, mark in unchanged.items()
                    if any(c.data is not None and mark.encode() in c.data for c in plan.changes))
    if leaked and apply:
        raise AnswersError(
            "The update changes lines that use secret answers, which are not kept: give "
            "them again with the update.",
            [Problem("secret_required", "give this secret answer again to update the lines "
                     "that use it", f"$.{name}") for name in leaked])
    if apply:
        apply_plan(folder, plan)
    return UpdateOutcome(changed=tuple(c.path for c in plan.changes),
                         conflicts=tuple(plan.conflicts), kept=tuple(plan.kept),
                         renamed=tuple(plan.renamed))


def rebuild_project(definition: Mapping[str, Any], answers: UpdateAnswers, project: str, *,
                    cache: CompiledCache | None = None) -> int:
    """Write into the empty folder ``project`` the files version ``definition`` renders
    with the project's recorded answers (a secret not given again as its placeholder):
    the project as it was generated, when its archive has expired. The number of files.

    What depends on the time or on chance (a date, a random value) comes out as it does
    now, not as it did then."""
    launchpad = _launchpad(cache)
    template = structure_template(dict(definition))
    values, _unchanged = _values((template,), answers)
    files = files_by_path(_render(launchpad, template, values))
    apply_plan(Path(project), plan_update(Path(project), {}, files, answers_path=ANSWERS_FILE))
    return len(files)


def _values(templates: tuple[Template, ...],
            answers: UpdateAnswers) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers both renders take (recorded ones, secrets given again, the others'
    placeholders), and those placeholders by secret."""
    secret_names = {v.name for t in templates for v in t.variables if v.secret}
    unchanged = {n: PLACEHOLDER.format(name=n) for n in secret_names if n not in answers.secrets}
    recorded = {k: v for k, v in answers.stored.items() if k not in secret_names}
    return {**recorded, **answers.secrets, **unchanged}, unchanged


def _render(launchpad: Launchpad, template: Template, values: Mapping[str, Any]) -> list[Any]:
    known = {v.name for v in template.variables}
    answers = launchpad.resolve_answers(template, {k: v for k, v in values.items() if k in known})
    return launchpad.render(template, answers)
