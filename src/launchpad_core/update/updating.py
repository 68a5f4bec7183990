"""Bringing a generated project to a newer version of its template (``launchpad update``)
and telling how far behind it is (``launchpad check``).

The project's answers file says where the template is and which version made it:
LaunchPad's (``_src_path``, ``_commit``, as ``launchpad render`` writes them beside
``_template`` and ``_version``) or Copier's ``.copier-answers.yml``. The template is
a Git repository, local or remote (``gh:owner/name``, a URL: any source
:mod:`.sources` takes); its versions are listed and both are checked out through
the cached mirror :mod:`.sources` keeps, rendered with the recorded answers, and
their difference merged into the project (:mod:`.merging`), all or nothing
(:mod:`.project_writes`). Tasks and migrations are not run.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from ..errors import LaunchpadError
from ..importers.importing import with_destination
from ..launchpad import Launchpad
from ..model.answers import Answers
from ..model.template import Template
from ..render.resolution import Ask
from ..sources.git import git_output, reason, run_git
from ..sources.loading import with_git_origin
from ..sources.repositories import CachedRepository, Release, cached_repository, git_url
from .merging import UpdatePlan, files_by_path, plan_update

#: Answers files looked for, in this order, when none is named.
ANSWERS_FILES = (".launchpad-answers.yml", ".copier-answers.yml")
_MAX_ANSWERS_BYTES = 1024 * 1024


class UpdateError(LaunchpadError):
    """The project cannot be updated as asked."""

    code = "update"


@attrs.frozen
class ProjectRecord:
    """What a project's answers file records."""

    #: The answers file, relative to the project.
    path: str
    source: str
    commit: str | None
    answers: Mapping[str, Any]
    #: ``copier`` for Copier's answers file, else ``launchpad``.
    format: str

    def template_spec(self, project: Path) -> str:
        """The template's source: ``_src_path`` as written, or a folder relative to the
        project made absolute."""
        path = Path(self.source).expanduser()
        if not path.is_absolute() and (project / path).is_dir():
            return str(project / path)
        return self.source

    def missing(self) -> str:
        """The start of the message for a version the template lacks."""
        return f"the template {self.source} has no version"


@attrs.frozen
class GitCache:
    """Where template repositories are mirrored and how ``gh:``/``gl:`` expand."""

    cache_dir: Path
    hosts: Mapping[str, str] | None = None


@contextlib.contextmanager
def template_repository(project: Path, record: ProjectRecord,
                        cache: GitCache) -> Iterator[CachedRepository]:
    """The recorded template's repository, fetched into the cache and locked."""
    spec = record.template_spec(project)
    if git_url(spec, cache.hosts) is None:
        found = "a Git repository" if Path(spec).expanduser().exists() else "found"
        raise UpdateError(f"the template {spec} is not {found}")
    with cached_repository(spec, cache_dir=cache.cache_dir, hosts=cache.hosts) as repo:
        yield repo


def read_record(project: Path, answers_file: str | None = None) -> ProjectRecord:
    if not project.is_dir():
        raise UpdateError(f"the project {project} is not a directory")
    names = (answers_file,) if answers_file else ANSWERS_FILES
    found = next((n for n in names if (project / n).is_file()), None)
    if found is None:
        raise UpdateError(f"{project} has no answers file ({', '.join(names)})")
    data = _read_yaml(project / found)
    source = data.get("_src_path")
    if not isinstance(source, str) or not source:
        raise UpdateError(f"{found} records no template source (_src_path)")
    commit = data.get("_commit")
    answers = {k: v for k, v in data.items() if not k.startswith("_")}
    kind = "launchpad" if "_template" in data else "copier"
    return ProjectRecord(found, source, None if commit is None else str(commit), answers, kind)


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    from ..sources.loading import read_data

    try:
        data = read_data(path, _MAX_ANSWERS_BYTES)
    except yaml.YAMLError as exc:
        raise UpdateError(f"{path.name} is not valid YAML: {exc}".splitlines()[0]) from None
    if not isinstance(data, dict):
        raise UpdateError(f"{path.name} must hold a mapping of answers")
    return data


@attrs.frozen
class Status:
    """Where a project stands: its version and the template's newer ones (oldest first)."""

    current: str
    newer: tuple[str, ...]
    latest: str | None
    #: What a person should be told (a fetch that failed: the cache answered).
    warnings: tuple[str, ...] = ()

    @property
    def behind(self) -> int:
        return len(self.newer)

    def as_json(self) -> str:
        return json.dumps({"current": self.current, "latest": self.latest,
                           "behind": self.behind, "newer": list(self.newer)})


def project_status(project: Path, cache: GitCache, answers_file: str | None = None) -> Status:
    record = read_record(project, answers_file)
    with template_repository(project, record, cache) as repo:
        versions = repo.versions()
        current = _recorded_commit(record)
        done = _reached(repo, repo.commit_of(current, missing=record.missing()), versions)
        warnings = repo.warnings
    newer = tuple(version.tag for version in versions[done:])
    return Status(current, newer, versions[-1].tag if versions else None, warnings)


def _reached(repo: CachedRepository, commit: str, versions: list[Release]) -> int:
    """How many of ``versions`` (oldest first) ``commit`` has: the index just past the newest
    tag that is it or one of its ancestors (0 when it precedes them all)."""
    done = 0
    for index, version in enumerate(versions, start=1):
        if version.commit == commit or repo.is_ancestor(version.commit, commit):
            done = index
    return done


def _recorded_commit(record: ProjectRecord) -> str:
    if not record.commit:
        raise UpdateError(f"{record.path} records no template version (_commit)")
    return record.commit


def ensure_clean(project: Path) -> None:
    """Refuse a project in a Git work tree with uncommitted changes (untracked files too)."""
    inside = git_output("-C", str(project), "rev-parse", "--is-inside-work-tree")
    if (inside or "").strip() != "true":
        return
    status = run_git("-C", str(project), "status", "--porcelain", "--", ".")
    if status.returncode != 0:
        raise UpdateError(f"git status in {project}: {reason(status)}")
    if status.stdout.strip():
        raise UpdateError(f"{project} has uncommitted changes: commit or stash them, "
                          "or add --force")


@attrs.frozen
class Update:
    plan: UpdatePlan
    from_ref: str
    to_ref: str
    warnings: tuple[str, ...] = ()


@attrs.frozen
class UpdateRequest:
    """What ``launchpad update`` was asked: the target (latest tag when None), answers for
    new or changed questions (text, as ``-d`` gives them), how to ask for the rest."""

    to: str | None = None
    given: Mapping[str, str] = attrs.field(factory=dict)
    ask: Ask | None = None
    conflict: str = "inline"
    trusted: bool = False


def prepare_update(lp: Launchpad, project: Path, record: ProjectRecord,
                   request: UpdateRequest, cache: GitCache) -> Update:
    """Render both versions and plan the merge; nothing in the project changes."""
    with template_repository(project, record, cache) as repo:
        current = _recorded_commit(record)
        target = request.to or _latest(repo)
        old, new = (_checkout(repo, ref, record) for ref in (current, target))
        where = {"project": project, "record": record, "request": request}
        old_t = _load_version(lp, old, **where)
        new_t = _load_version(lp, new, **where)
        old_t = _excluding(old_t, new_t.settings.exclude)
        recorded = _as_text(record.answers)
        new_answers = _answers(lp, new_t, {**recorded, **request.given}, ask=request.ask,
                               strict=request.given)
        # What the record lacks (secrets) the old version takes from the new answers.
        unrecorded = {k: v for k, v in new_answers.values.items()
                      if k not in recorded and k not in new_answers.skipped}
        old_answers = _answers(lp, old_t, {**_as_text(unrecorded), **recorded}, ask=None)
        excluded = _excluded_by(lp, new_t, new_answers)
        old_files = [f for f in lp.render(old_t, old_answers, trusted=request.trusted)
                     if not excluded(f.path)]
        new_files = lp.render(new_t, new_answers, trusted=request.trusted)
    plan = plan_update(project, files_by_path(old_files), files_by_path(new_files),
                       answers_path=record.path, conflict=request.conflict)
    return Update(plan, current, target, repo.warnings)


def _checkout(repo: CachedRepository, ref: str, record: ProjectRecord) -> Path:
    """The checkout of ``ref``; a Copier template's with its submodules, as Copier's."""
    commit = repo.commit_of(ref, missing=record.missing())
    tree = repo.checkout(commit)
    if record.format == "copier" and (tree / ".gitmodules").is_file():
        tree = repo.checkout(commit, submodules=True)
    return tree


def _latest(repo: CachedRepository) -> str:
    versions = repo.versions()
    return versions[-1].tag if versions else "HEAD"


def _load_version(lp: Launchpad, dest: Path, *, project: Path, record: ProjectRecord,
                  request: UpdateRequest) -> Template:
    template = lp.load(dest, trusted=request.trusted, skip_tasks=True, format=record.format)
    template = with_git_origin(template, dest)
    origin = {**template.settings.origin, "source": record.source}
    template = attrs.evolve(template, settings=attrs.evolve(template.settings, origin=origin))
    return with_destination(template, project, launchpad=lp)


def _excluding(template: Template, patterns: tuple[str, ...]) -> Template:
    """The old version less what the new one excludes too (as Copier renders it)."""
    exclude = tuple(dict.fromkeys((*template.settings.exclude, *patterns)))
    return attrs.evolve(template, settings=attrs.evolve(template.settings, exclude=exclude))


def _excluded_by(lp: Launchpad, template: Template, answers: Answers) -> Callable[[str], bool]:
    """What the new version excludes beyond its ``exclude`` globs: a Copier template's
    ``_exclude`` (which its import applies to the file tree)."""
    if template.settings.origin.get("format") != "copier":
        return lambda path: False
    from ..importers.copier import excluded_by
    from ..render.rendering import render_context

    extra = lp.hooks.render_context(template=template, answers=answers)
    return excluded_by(template, render_context(template, answers, extra), lp.engine)


def _as_text(values: Mapping[str, Any]) -> dict[str, str]:
    """Recorded answers as the text the CLI coerces (typed values as JSON)."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def _answers(lp: Launchpad, template: Template, given: Mapping[str, str], *,
             ask: Ask | None, strict: Mapping[str, str] | None = None) -> Answers:
    """Answers for ``template``: recorded answers to questions it no longer asks are
    dropped; an unknown name in ``strict`` (``-d``) is an error."""
    known = {v.name for v in template.variables}
    unknown = [name for name in strict or {} if name not in known]
    if unknown:
        raise UpdateError(f"the template has no question {unknown[0]!r}")
    kept = {k: v for k, v in given.items() if k in known}
    return lp.resolve_answers(template, kept, from_text=True, use_defaults=ask is None, ask=ask)
