"""What Copier sees of a template that is a Git repository: it renders a fresh clone.

Copier clones a local Git template before rendering it, so the answers file
records ``_commit`` (``git describe --tags --always``) and every file takes the
mode a checkout gives it: 0666 or, for a file Git records as executable, 0777,
less the process umask. LaunchPad reads the working tree itself and applies
the same two facts, which it asks Git once at import.

The command line reads a local repository's ``HEAD`` from such a clone
(:func:`launchpad_core.sources.repositories.local_clone`: edits committed as Copier commits
them, so ``_commit`` describes that commit); a working tree imported directly
(:func:`~launchpad_core.importers.importing.import_template` of its folder) is read as it
is, edits included, and ``_commit`` describes its ``HEAD``.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import attrs

from .source_tree import process_umask

#: Git answers in well under a second; a hung one must not hang the import.
_GIT_SECONDS = 10


@attrs.frozen
class FreshClone:
    """The commit description and checkout modes of a Git template."""

    root: Path
    describe: str
    commit_hash: str
    #: Git's executable bit of every tracked file, by relative POSIX path.
    tracked: Mapping[str, bool]
    umask: int

    def mode(self, path: Path) -> int:
        """The mode Copier's clone gives ``path``: Git's executable bit when tracked, the
        working tree's otherwise (Copier's ``git add -A`` of a dirty template records it),
        less the umask."""
        executable = self.tracked.get(PurePosixPath(path.relative_to(self.root)).as_posix())
        if executable is None:
            executable = bool(path.stat().st_mode & stat.S_IXUSR)
        return (0o777 if executable else 0o666) & ~self.umask


def _git(root: Path, *args: str) -> str | None:
    """Git's output in ``root``, or None (Git missing, failing or too slow)."""
    from ..sources.git import GitError, git_output  # only a Git template's import runs Git

    try:
        return git_output("-C", str(root), *args, timeout=_GIT_SECONDS)
    except GitError:
        return None


def fresh_clone(root: Path) -> FreshClone | None:
    """The facts of the repository whose top level is ``root``; None when ``root`` is not
    one (a folder inside a repository is not cloned by Copier either) or Git is missing.

    The importer calls this only for a folder holding ``.git``: a plain folder imports
    neither this module nor what runs Git."""
    from ..sources.git import is_repository_root

    if not is_repository_root(root):
        return None
    commit_hash = (_git(root, "rev-parse", "HEAD") or "").strip()
    if not commit_hash:
        return None
    describe = _git(root, "describe", "--tags", "--always")
    listing = _git(root, "ls-files", "--stage", "-z")
    if describe is None or listing is None:
        return None
    tracked = {}
    for entry in filter(None, listing.split("\0")):
        meta, _tab, rel = entry.partition("\t")
        tracked[rel] = bool(int(meta.split(" ", 1)[0], 8) & 0o111)
    return FreshClone(
        root=root.resolve(), describe=describe.strip(), commit_hash=commit_hash,
        tracked=tracked, umask=process_umask(),
    )
