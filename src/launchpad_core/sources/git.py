"""Running Git: the one way LaunchPad calls it.

Repositories read here are often a template author's, so Git runs with the
caller's environment less every ``GIT_*`` variable (one would point it at
another repository or run a command) but the ones that say how to reach a
remote (:data:`_TRANSPORT`), with ``core.fsmonitor`` off (a repository's
configuration must not run commands), never prompting for a password, and
within a time limit. Its messages are given without the ``user:password@`` of
any URL in them.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from ..errors import SourceError

#: A local command (a tag listing, a local clone) answers in well under this.
LOCAL_SECONDS = 60
#: A clone or fetch over the network may take this long.
NETWORK_SECONDS = 600
#: The user's settings for reaching a remote repository, kept.
_TRANSPORT = frozenset({"GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT", "GIT_ASKPASS",
                        "GIT_PROXY_COMMAND", "GIT_SSL_CAINFO", "GIT_SSL_CAPATH"})


class GitError(SourceError):
    """Git is missing, took too long, or failed where it had to succeed."""

    code = "git_error"


def without_credentials(text: str) -> str:
    """``text`` with every ``user:password@`` of a URL in it left out."""
    return re.sub(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", r"\1", text)


#: The dates a commit LaunchPad makes takes from the caller (as Copier's does).
COMMIT_DATES = frozenset({"GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"})


def git_env(
    ceiling: Path | None = None, *, kept: frozenset[str] = frozenset()
) -> dict[str, str]:
    """The environment Git runs in (see the module); ``ceiling`` keeps it from finding a
    repository above that folder; ``kept``: more ``GIT_*`` variables of the caller kept."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GIT_") or k in _TRANSPORT or k in kept}
    env["GIT_TERMINAL_PROMPT"] = "0"
    if ceiling is not None:
        env["GIT_CEILING_DIRECTORIES"] = str(ceiling)
    return env


def run_git(
    *args: str,
    cwd: Path | None = None,
    stdin: str | bytes | None = None,
    text: bool = True,
    timeout: float = LOCAL_SECONDS,
    ceiling: Path | None = None,
    env: Mapping[str, str] | None = None,
    kept: frozenset[str] = frozenset(),
) -> subprocess.CompletedProcess:
    """Git with ``args`` (its exit status is the caller's to judge); :class:`GitError` when
    it is not installed or runs past ``timeout`` seconds. ``env``: variables set for this
    run; ``kept``: the caller's ``GIT_*`` variables it keeps (:func:`git_env`)."""
    try:
        return subprocess.run(
            ["git", "-c", "core.fsmonitor=false", *args], cwd=cwd, input=stdin,
            capture_output=True, text=text, env={**git_env(ceiling, kept=kept), **(env or {})},
            check=False,
            timeout=timeout, stdin=None if stdin is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (templates from repositories need it)") from None
    except subprocess.TimeoutExpired:
        shown = without_credentials(" ".join(a for a in args if not a.startswith("-"))[:80])
        raise GitError(f"git {shown} took more than {timeout:g} seconds") from None


def git_output(*args: str, timeout: float = LOCAL_SECONDS) -> str | None:
    """Git's output, or None when it fails."""
    done = run_git(*args, timeout=timeout)
    return done.stdout if done.returncode == 0 else None


def git_failure(
    *args: str, timeout: float = LOCAL_SECONDS, env: Mapping[str, str] | None = None,
    kept: frozenset[str] = frozenset(),
) -> str | None:
    """None when Git succeeds, else its reason in one line (:func:`reason`)."""
    done = run_git(*args, timeout=timeout, env=env, kept=kept)
    return None if done.returncode == 0 else reason(done)


def reason(done: subprocess.CompletedProcess) -> str:
    """Why Git failed, in one line: its first ``fatal:`` line but the catch-all after a
    reason of SSH's or of the path's, which is taken instead."""
    stderr = done.stderr if isinstance(done.stderr, str) else done.stderr.decode(errors="replace")
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    reasons = [re.sub(r"^(fatal|error): ", "", line) for line in lines
               if line.startswith(("fatal:", "error:", "ssh:"))]
    telling = [r for r in reasons if r != "Could not read from remote repository."]
    found = (telling or reasons or lines or [f"git exited with status {done.returncode}"])[0]
    return without_credentials(found)


def is_repository_root(path: Path) -> bool:
    """Whether ``path`` is the top level of a Git working tree (a folder inside one is not);
    False when Git cannot tell (not installed ...)."""
    if not (path / ".git").exists():
        return False
    top = _answer("-C", str(path), "rev-parse", "--show-toplevel")
    return top is not None and Path(top).resolve() == path.resolve()


def describe(root: Path, commit: str = "HEAD") -> str | None:
    """``git describe --tags --always`` of ``commit`` in ``root`` (Copier's ``_commit``), or
    None when Git cannot tell."""
    return _answer("-C", str(root), "describe", "--tags", "--always", commit)


def _answer(*args: str) -> str | None:
    """Git's output stripped, or None when it fails, is missing or is too slow."""
    try:
        out = git_output(*args)
    except GitError:
        return None
    return (out or "").strip() or None
