"""Templates with tagged versions, projects made from them, and Copier's update to compare
with (shared by the update tests)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from importers.conftest import assert_same_tree, write_tree

from launchpad_core.cli import main as cli

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Tester", "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "Tester", "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                          check=True)
    return done.stdout


def tagged_template(root: Path, versions: Sequence[Mapping[str, Any]]) -> Path:
    """A Git repository whose tag ``vN`` holds the N-th tree of ``versions``."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    for number, tree in enumerate(versions, start=1):
        for entry in root.iterdir():
            if entry.name != ".git":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        write_tree(root, tree)
        git(root, "add", "-A")
        git(root, "commit", "-q", "--allow-empty", "-m", f"version {number}")
        git(root, "tag", f"v{number}")
    return root


def committed(project: Path) -> Path:
    """``project`` as a Git repository with everything committed."""
    if not (project / ".git").exists():
        git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "--allow-empty", "-m", "work")
    return project


def copier_project(template: Path, dest: Path, data: Mapping[str, Any],
                   edit: Callable[[Path], None]) -> Path:
    """A project Copier made from ``v1`` of ``template``, committed, then edited by
    ``edit`` and committed again."""
    import copier

    copier.run_copy(str(template), dest, data=dict(data), vcs_ref="v1", defaults=True,
                    quiet=True)
    committed(dest)
    edit(dest)
    return committed(dest)


def twins(project: Path) -> tuple[Path, Path]:
    """Two copies of ``project`` (with its Git history): one for each tool."""
    a, b = project.with_name(f"{project.name}-copier"), project.with_name(f"{project.name}-lp")
    shutil.copytree(project, a, symlinks=True)
    shutil.copytree(project, b, symlinks=True)
    return a, b


def copier_update(project: Path, to: str, data: Mapping[str, Any] | None = None,
                  conflict: str = "inline") -> None:
    import copier

    copier.run_update(project, data=dict(data or {}), vcs_ref=to, defaults=True,
                      overwrite=True, quiet=True, conflict=conflict)


def launchpad_update(project: Path, *args: str) -> int:
    return cli.main(["update", str(project), "--defaults", *args])


def without_git(root: Path) -> Path:
    copy = root.with_name(f"{root.name}-tree")
    shutil.copytree(root, copy, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    return copy


def assert_same_project(expected: Path, actual: Path) -> None:
    assert_same_tree(without_git(expected), without_git(actual))
