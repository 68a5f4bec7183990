"""Versions of a template kept in a local Git repository: its tags, in PEP 440 order.

Copier orders a template's tags with ``packaging.version`` and ignores tags that
are no version; so does this module. A version is checked out by cloning the
repository (Git's local clone shares its objects) and checking out the commit,
so the checkout describes itself (``git describe --tags --always``) as Copier's
clone does.

Git runs with the caller's environment less every ``GIT_*`` variable and with
``core.fsmonitor`` off: the repository's configuration must not run commands.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from packaging.version import InvalidVersion, Version

from .errors import LaunchpadError

#: Git answers a local clone or a tag listing in well under this.
_GIT_SECONDS = 60


class TemplateVersionError(LaunchpadError):
    """The template is no Git repository, or has no such version."""

    code = "template_version"


def git(root: Path | str, *args: str, check: bool = True) -> str:
    """Git's output in ``root``; :class:`TemplateVersionError` when it fails and ``check``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    try:
        done = subprocess.run(
            ["git", "-c", "core.fsmonitor=false", "-C", str(root), *args],
            capture_output=True, text=True, timeout=_GIT_SECONDS, check=False, env=env,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TemplateVersionError(f"git {args[0]} failed: {exc}") from None
    if check and done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise TemplateVersionError(f"git {args[0]} in {root}: {reason[0]}")
    return done.stdout


def is_repository(path: Path) -> bool:
    """Whether ``path`` is the top of a Git repository (a folder inside one is not)."""
    if not (path / ".git").exists():
        return False
    top = git(path, "rev-parse", "--show-toplevel", check=False).strip()
    return bool(top) and Path(top).resolve() == path.resolve()


def require_repository(path: Path) -> None:
    if not path.is_dir():
        raise TemplateVersionError(f"the template {path} is not found")
    if not is_repository(path):
        raise TemplateVersionError(f"the template {path} is not a Git repository")


def parse_version(tag: str) -> Version | None:
    """The PEP 440 version a tag names (``v1.2``, ``1.2.0``), or None."""
    try:
        return Version(tag)
    except InvalidVersion:
        return None


def template_versions(path: Path, *, prereleases: bool = False) -> list[tuple[str, str]]:
    """Every tag of the repository at ``path`` that is a version, oldest first, each with
    its commit hash; pre-releases only when asked (Copier's ``--prereleases``)."""
    require_repository(path)
    listing = git(path, "for-each-ref", "--format=%(refname:strip=2) %(objectname) %(*objectname)",
                  "refs/tags")
    found = []
    for line in listing.splitlines():
        tag, obj, *peeled = line.split()
        version = parse_version(tag)
        if version is not None and (prereleases or not version.is_prerelease):
            found.append((version, tag, peeled[0] if peeled else obj))
    found.sort(key=lambda item: item[0])
    return [(tag, commit) for _version, tag, commit in found]


def resolve(path: Path, ref: str) -> str:
    """The commit hash ``ref`` (a tag, a hash, a ``git describe`` name) names."""
    out = git(path, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False).strip()
    if not out:
        raise TemplateVersionError(f"the template {path} has no version {ref!r}")
    return out


def describe(path: Path, commit: str) -> str:
    """``git describe --tags --always`` of ``commit``: what Copier records as ``_commit``."""
    return git(path, "describe", "--tags", "--always", commit).strip()


def described_head(path: Path) -> str | None:
    """:func:`describe` of the checked-out commit when ``path`` is a repository with one
    (and Git is there), else None: never an error."""
    try:
        if not is_repository(path):
            return None
        return git(path, "describe", "--tags", "--always", "HEAD", check=False).strip() or None
    except TemplateVersionError:
        return None


def version_of(path: Path, commit: str, versions: list[tuple[str, str]]) -> int:
    """How many of ``versions`` (oldest first) ``commit`` has: the index just past the newest
    tag that is it or one of its ancestors (0 when it precedes them all)."""
    done = 0
    for index, (_tag, tagged) in enumerate(versions, start=1):
        if tagged == commit or _is_ancestor(path, tagged, commit):
            done = index
    return done


def _is_ancestor(path: Path, older: str, newer: str) -> bool:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    done = subprocess.run(
        ["git", "-c", "core.fsmonitor=false", "-C", str(path), "merge-base", "--is-ancestor",
         older, newer], capture_output=True, timeout=_GIT_SECONDS, check=False, env=env,
    )
    return done.returncode == 0


def checkout(path: Path, ref: str, dest: Path) -> str:
    """Clone the repository at ``path`` into ``dest`` (which must not exist) with ``ref``
    checked out; returns the commit hash. The clone borrows the repository's objects
    (``--shared``): it is a short-lived, read-only view."""
    commit = resolve(path, ref)
    git(dest.parent, "clone", "--quiet", "--shared", "--no-checkout", str(path.resolve()),
        str(dest))
    git(dest, "-c", "advice.detachedHead=false", "checkout", "--quiet", commit)
    return commit
