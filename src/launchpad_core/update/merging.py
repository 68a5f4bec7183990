"""The three-way merge of a template update: what each file of a project becomes.

Three trees meet: the template's version the project was made from, rendered again
with the project's answers (*old*), the target version rendered with the same
answers (*new*), and the project as it is (*mine*). Per path, as Copier's update
leaves it:

* a file the person did not edit takes the new version; one the template did not
  change keeps the person's edit; one both changed is merged by ``git merge-file``,
  a conflict written with Copier's markers (``<<<<<<< before updating``,
  ``>>>>>>> after updating``) or, with ``conflict="rej"``, as Copier's ``git apply
  --reject`` leaves it: the person's change applied to the new version where it
  applies, the hunks that do not in a ``.rej`` file beside it;
* a file the person deleted stays deleted (unless it is ``skip_if_exists``, which is
  made again); an existing ``skip_if_exists`` file is left alone;
* a file the template removed is removed when unedited; an edited one is kept and
  listed (Copier removes it, edits and all);
* a file the template renamed (one removed path and one added path whose contents
  are alike, and nothing of the person's at the new path) takes the person's edits
  to its new path (Copier drops them with the old path).

Nothing here writes to the project: :func:`plan_update` returns the changes.
"""

from __future__ import annotations

import difflib
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath

import attrs

from ..errors import LaunchpadError
from ..model.output import RenderedFile

LABELS = ("before updating", "last update", "after updating")
#: The lines Copier looks for to call a merged file a conflict.
_MARKERS = {b"<<<<<<< before updating", b">>>>>>> after updating"}
#: Contents at least this alike (difflib's ratio) make a removed and an added file a rename.
RENAME_SIMILARITY = 0.5
#: Removed x added files compared when looking for renames among differently named files.
MAX_RENAME_PAIRS = 400
_FILE_MODE = 0o666


@attrs.frozen
class Current:
    """A file of the project as it is: bytes (a link's target) and permission bits."""

    data: bytes
    mode: int
    symlink: bool = False


@attrs.frozen
class Change:
    """One path of the project after the update: new bytes, or ``data`` None to delete it."""

    path: str
    data: bytes | None
    mode: int | None = None
    symlink: bool = False
    before: bytes | None = None


@attrs.frozen
class UpdatePlan:
    changes: tuple[Change, ...] = ()
    conflicts: tuple[str, ...] = ()
    #: Files the template removed that the person edited: left in place.
    kept: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()
    #: Empty folders of the new version that the project lacks.
    folders: tuple[str, ...] = ()


def read_current(project: Path, path: str) -> Current | None:
    target = project / path
    try:
        info = target.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISLNK(info.st_mode):
        return Current(os.readlink(target).encode(), 0o777, symlink=True)
    if not stat.S_ISREG(info.st_mode):
        return None
    return Current(target.read_bytes(), stat.S_IMODE(info.st_mode))


def _mode(file: RenderedFile) -> int | None:
    return None if file.mode is None else file.mode & 0o777


@attrs.define
class _Planner:
    project: Path
    old: Mapping[str, RenderedFile]
    new: Mapping[str, RenderedFile]
    conflict: str
    work: Path
    changes: list[Change] = attrs.field(factory=list)
    conflicts: list[str] = attrs.field(factory=list)
    kept: list[str] = attrs.field(factory=list)

    def write(self, path: str, data: bytes, mode: int | None, *, symlink: bool = False) -> None:
        current = read_current(self.project, path)
        unchanged = current is not None and current.data == data and current.symlink == symlink
        if unchanged and (mode is None or symlink or current.mode == mode):
            return
        before = None if current is None else current.data
        self.changes.append(Change(path, data, mode, symlink, before))

    def delete(self, path: str, current: Current) -> None:
        self.changes.append(Change(path, None, before=current.data))

    def place(self, path: str, new: RenderedFile, old: RenderedFile | None,
              mine: Current | None) -> None:
        """``path`` of the new version, from ``old`` and the person's ``mine``."""
        if new.skip_if_exists and read_current(self.project, path) is not None:
            return
        if mine is None:
            if old is None or new.skip_if_exists:
                self.write(path, new.data, _mode(new), symlink=new.symlink)
            return  # deleted by the person: stays deleted
        base = old.data if old is not None else b""
        if mine.data == base and old is not None:
            self.write(path, new.data, _mode(new), symlink=new.symlink)
        elif new.data in (base, mine.data):
            self.write(path, mine.data, mine.mode, symlink=mine.symlink)
        else:
            self.merge(path, new, base, mine)

    def merge(self, path: str, new: RenderedFile, base: bytes, mine: Current) -> None:
        texts = (mine.data, base, new.data)
        if _unmergeable(new, mine, texts):
            self.conflicts.append(path)
            self.write(path, mine.data, mine.mode, symlink=mine.symlink)
            return
        if self.conflict == "rej":
            self._patch(path, new, base, mine)
            return
        merged, clean = self._merge_file(texts)
        if not clean:
            self.conflicts.append(path)
        self.write(path, merged, _mode(new) if clean else mine.mode)

    def _patch(self, path: str, new: RenderedFile, base: bytes, mine: Current) -> None:
        """Copier's ``--conflict rej``: the person's change applied to the new version by
        ``git apply --reject``; the hunks that do not apply kept in ``path.rej``."""
        (self.work / "base").write_bytes(base)
        (self.work / "mine").write_bytes(mine.data)
        diff = self._git("diff", "--no-index", "--no-color", "--no-ext-diff", "-U3",
                         "--inter-hunk-context=-1", "--", "base", "mine", ok=(0, 1))
        hunks = diff[diff.index(b"\n@@") + 1:]
        folder = self.work / "apply"
        folder.mkdir(exist_ok=True)
        (folder / "target").write_bytes(new.data)
        patch = b"--- a/target\n+++ b/target\n" + hunks
        (self.work / "patch").write_bytes(patch)
        self._git("-C", str(folder), "apply", "--reject", str(self.work / "patch"), ok=(0, 1))
        self.write(path, (folder / "target").read_bytes(), _mode(new))
        rejected = folder / "target.rej"
        if rejected.exists():
            self.conflicts.append(path)
            header, _newline, rest = rejected.read_bytes().partition(b"\n")
            renamed = header.replace(b"a/target b/target", f"a/{path} b/{path}".encode(), 1)
            self.write(f"{path}.rej", renamed + b"\n" + rest, None)
            rejected.unlink()

    def _git(self, *args: str, ok: tuple[int, ...]) -> bytes:
        """Git in the work folder, never finding a repository around it."""
        from ..sources.git import reason, run_git

        done = run_git(*args, cwd=self.work, text=False, ceiling=self.work.parent)
        if done.returncode not in ok:
            raise LaunchpadError(f"git {args[0]} failed: {reason(done)}")
        return done.stdout

    def _merge_file(self, texts: tuple[bytes, bytes, bytes]) -> tuple[bytes, bool]:
        for name, data in zip(("mine", "base", "new"), texts, strict=True):
            (self.work / name).write_bytes(data)
        labels = [arg for label in LABELS for arg in ("-L", label)]
        merged = self._git("merge-file", "-p", *labels, "--", "mine", "base", "new",
                           ok=tuple(range(128)))
        clean = not any(line.rstrip() in _MARKERS for line in merged.splitlines())
        return merged, clean


def _unmergeable(new: RenderedFile, mine: Current, texts: tuple[bytes, ...]) -> bool:
    return new.symlink or mine.symlink or any(b"\0" in text for text in texts)


def renames(project: Path, old: Mapping[str, RenderedFile],
            new: Mapping[str, RenderedFile]) -> dict[str, str]:
    """Removed path -> added path, where the pairing is clear: each side's best match is
    the other, alike enough, and the person has nothing at the added path. Pairs with
    the same file name are tried first, then (for a bounded number of pairs) all."""
    removed = [p for p in old if p not in new and not old[p].symlink]
    added = [p for p in new if p not in old and not new[p].symlink
             and read_current(project, p) is None]
    found: dict[str, str] = {}
    by_name: dict[str, list[str]] = {}
    for path in added:
        by_name.setdefault(PurePosixPath(path).name, []).append(path)
    for path in removed:
        alike = by_name.get(PurePosixPath(path).name, [])
        if len(alike) == 1:
            _pair(found, [path], alike, old, new)
    rest_removed = [p for p in removed if p not in found]
    taken = set(found.values())
    rest_added = [p for p in added if p not in taken]
    if len(rest_removed) * len(rest_added) <= MAX_RENAME_PAIRS:
        _pair(found, rest_removed, rest_added, old, new)
    return found


def _pair(found: dict[str, str], removed: list[str], added: list[str],
          old: Mapping[str, RenderedFile], new: Mapping[str, RenderedFile]) -> None:
    """Add to ``found`` the removed and added paths that are each other's best match."""
    if not removed or not added:
        return
    score = {(a, b): _similarity(old[a].data, new[b].data) for a in removed for b in added}
    for a in removed:
        best = max(added, key=lambda b: score[a, b])
        back = max(removed, key=lambda r: score[r, best])
        if score[a, best] >= RENAME_SIMILARITY and back == a:
            found[a] = best


def _similarity(left: bytes, right: bytes) -> float:
    if left == right:
        return 1.0
    matcher = difflib.SequenceMatcher(None, left.splitlines(), right.splitlines(), autojunk=False)
    if matcher.real_quick_ratio() < RENAME_SIMILARITY or matcher.quick_ratio() < RENAME_SIMILARITY:
        return 0.0
    return matcher.ratio()


def plan_update(project: Path, old: Mapping[str, RenderedFile], new: Mapping[str, RenderedFile],
                *, answers_path: str, conflict: str = "inline") -> UpdatePlan:
    """The changes that bring ``project`` from the ``old`` render to the ``new`` one."""
    moved = renames(project, old, new)
    moved_to = {b: a for a, b in moved.items()}
    with tempfile.TemporaryDirectory(prefix="launchpad-merge-") as work:
        planner = _Planner(project, old, new, conflict, Path(work))
        for path in sorted(old.keys() | new.keys()):
            _plan_path(planner, path, moved, moved_to, answers_path)
    folders = tuple(p for p, f in new.items() if f.is_dir and not (project / p).is_dir())
    return UpdatePlan(tuple(planner.changes), tuple(planner.conflicts), tuple(planner.kept),
                      tuple(sorted(moved.items())), folders)


def _plan_path(planner: _Planner, path: str, moved: Mapping[str, str],
               moved_to: Mapping[str, str], answers_path: str) -> None:
    old, new = planner.old.get(path), planner.new.get(path)
    if (old is not None and old.is_dir) or (new is not None and new.is_dir):
        return
    if new is not None and path == answers_path:
        planner.write(path, new.data, _mode(new))
        return
    mine = read_current(planner.project, path)
    if new is None:
        if mine is None:
            return
        if path in moved or mine.data == old.data:
            planner.delete(path, mine)
        else:
            planner.kept.append(path)
        return
    if path in moved_to:
        source = moved_to[path]
        old, mine = planner.old[source], read_current(planner.project, source)
    planner.place(path, new, old, mine)


def files_by_path(files: list[RenderedFile]) -> dict[str, RenderedFile]:
    return {f.path: f for f in files}


def unified_diff(change: Change) -> Iterator[str]:
    """The change as a unified diff against the project (``--dry-run``)."""
    before, after = change.before, change.data
    if (before is not None and b"\0" in before) or (after is not None and b"\0" in after):
        yield f"Binary files a/{change.path} and b/{change.path} differ\n"
        return
    old_name = f"a/{change.path}" if before is not None else "/dev/null"
    new_name = f"b/{change.path}" if after is not None else "/dev/null"
    old_lines = (before or b"").decode(errors="replace").splitlines(keepends=True)
    new_lines = (after or b"").decode(errors="replace").splitlines(keepends=True)
    if old_lines == new_lines:
        yield f"mode change {change.path}\n"
        return
    for line in difflib.unified_diff(old_lines, new_lines, old_name, new_name):
        yield line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n"
