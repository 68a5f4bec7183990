"""Applying an :class:`~launchpad_core.update.merging.UpdatePlan` to a project: all or nothing.

Every new content is first written to a temporary file beside its target; then each
target in turn is moved aside to a backup name and the new file renamed into its
place (a deletion only moves it aside). If anything fails, the steps done are undone
in reverse, so the project is as it was; once all succeed the backups are removed,
and folders left empty by deletions (and not part of the new version) with them.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ..errors import DestinationError
from ..model.output import RenderedFile
from ..render.sinks import _create, _make_directories, _Targets, _temp_path_beside, _undo_on_failure
from .merging import Change, UpdatePlan


def apply_plan(project: Path, plan: UpdatePlan) -> None:
    targets = _Targets(project)
    try:
        with _undo_on_failure() as created:
            for folder in plan.folders:
                _make_directories(project / folder, created)
            staged = [_stage(targets, change, created) for change in plan.changes]
            backups = _swap(staged)
    except OSError as exc:
        raise DestinationError(f"could not update {project}: {exc}") from exc
    for backup in backups:
        with contextlib.suppress(OSError):
            backup.unlink()
    for change in plan.changes:
        if change.data is None:
            _remove_empty_parents(project, change.path)


def _stage(targets: _Targets, change: Change, created: list[Path]) -> tuple[Path | None, Path]:
    data = b"" if change.data is None else change.data
    file = RenderedFile(path=change.path, data=data, mode=change.mode, symlink=change.symlink)
    target = targets(file)
    if change.data is None:
        return None, target
    _make_directories(target.parent, created)
    temp = _temp_path_beside(target)
    created.append(temp)
    _create(temp, file)
    return temp, target


def _swap(staged: list[tuple[Path | None, Path]]) -> list[Path]:
    """Move each target aside and its staged file in; undo all on failure."""
    done: list[tuple[Path | None, Path, Path | None]] = []
    try:
        for temp, target in staged:
            backup = None
            if os.path.lexists(target):
                backup = _temp_path_beside(target)
                os.rename(target, backup)
            done.append((None, target, backup))
            if temp is not None:
                os.rename(temp, target)
                done[-1] = (temp, target, backup)
    except BaseException:
        for temp, target, backup in reversed(done):
            if temp is not None:
                os.rename(target, temp)
            if backup is not None:
                os.rename(backup, target)
        raise
    return [backup for _temp, _target, backup in done if backup is not None]


def _remove_empty_parents(project: Path, path: str) -> None:
    parent = (project / path).parent
    while parent != project and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent

