"""One commit of a generated project's files, pushed over git's smart HTTP protocol with
the git command line.

The commit is deterministic: the same files, author, time and message always make
the same commit id, so a publish that is retried after a crash recognises its own
commit on the remote (:func:`remote_heads`) instead of making a second one. The
credentials reach git only as an ``http.extraHeader`` set through the environment
(``GIT_CONFIG_COUNT``), never in its arguments, a URL, or a message; git's error
output is reduced to one line that cannot hold them.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import tarfile
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import attrs

from launchpad_core import LaunchpadError

BRANCH = "main"
TIMEOUT_SECONDS = 300


class GitPushError(LaunchpadError):
    """Git could not make or push the commit."""

    code = "git_failed"


class RemoteUnavailableError(GitPushError):
    """The forge's git server did not answer or failed (5xx, a dropped connection)."""

    code = "git_remote_unavailable"


class RemoteNotFoundError(GitPushError):
    """The git server has no such repository (or hides it: a 404)."""

    code = "git_remote_not_found"


class RemoteRefusedError(GitPushError):
    """The git server refused the credentials (``status`` 401) or the push (403)."""

    code = "git_remote_refused"

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


@attrs.frozen
class Author:
    name: str
    email: str
    at: datetime


@attrs.frozen
class Credentials:
    username: str
    password: str = attrs.field(repr=False)

    def header(self) -> str:
        pair = f"{self.username}:{self.password}".encode()
        return f"Authorization: Basic {base64.b64encode(pair).decode()}"


def commit_archive(archive: BinaryIO, work: Path, *, author: Author, message: str) -> str:
    """Commit exactly the files of the ``tar.gz`` ``archive`` on ``main`` of a new bare
    repository in the empty folder ``work``, as ``author`` at ``author.at``; the commit id.

    The archive is streamed into ``git fast-import`` (one pack, no checkout on disk);
    an executable file is committed as such, a symbolic link as a link."""
    run(work, "init", "-q", "--bare", "-b", BRANCH, ".")
    stamp = f"{int(author.at.timestamp())} +0000"
    who = f"{_clean(author.name)} <{_clean(author.email)}> {stamp}"
    text = message.encode()
    importer = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"], cwd=work, env=environment(work),
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert importer.stdin is not None
    try:
        importer.stdin.write(f"commit refs/heads/{BRANCH}\nauthor {who}\ncommitter {who}\n"
                             f"data {len(text)}\n".encode() + text + b"\n")
        with tarfile.open(fileobj=archive, mode="r|gz") as tar:
            for member in tar:
                _import_member(importer.stdin, tar, member)
        importer.stdin.write(b"\ndone\n")
        importer.stdin.close()
    except BrokenPipeError:
        pass  # fast-import stopped: its reason is on stderr
    stderr = importer.stderr.read().decode(errors="replace") if importer.stderr else ""
    if importer.wait() != 0:
        raise failure("fast-import", stderr)
    return run(work, "rev-parse", f"refs/heads/{BRANCH}").strip()


def _import_member(stream: BinaryIO, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
    parts = member.name.removeprefix("./").split("/")
    if member.name.startswith("/") or ".." in parts or ".git" in parts:
        raise GitPushError(f"the archive holds a path git must not be given: {member.name!r}")
    if member.isfile():
        extracted = tar.extractfile(member)
        data = extracted.read() if extracted is not None else b""
        mode = "100755" if member.mode & 0o111 else "100644"
    elif member.issym():
        data, mode = member.linkname.encode(), "120000"
    else:
        return  # folders are implied by their files; git keeps nothing else
    stream.write(f"M {mode} inline {_quoted(member.name)}\ndata {len(data)}\n".encode()
                 + data + b"\n")


def _quoted(path: str) -> str:
    """A path as fast-import reads it whatever its characters: C-style quoted."""
    escaped = path.removeprefix("./").replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def _clean(text: str) -> str:
    """A name or email as a commit's identity line can hold it."""
    return " ".join(text.replace("<", "").replace(">", "").split()) or "unknown"


def remote_heads(work: Path, url: str, credentials: Credentials) -> dict[str, str]:
    """The remote's refs (``refs/heads/main`` -> id); empty for an empty repository."""
    listed = run(work, "ls-remote", url, credentials=credentials)
    refs = {}
    for line in listed.splitlines():
        sha, _, ref = line.partition("\t")
        if ref:
            refs[ref] = sha
    return refs


def push(work: Path, url: str, credentials: Credentials) -> None:
    """Push ``main`` to the remote's ``main`` (never forced)."""
    run(work, "push", "-q", url, f"refs/heads/{BRANCH}:refs/heads/{BRANCH}",
         credentials=credentials)


def run(work: Path, *args: str, credentials: Credentials | None = None,
        timeout: float = TIMEOUT_SECONDS, protocols: str = "http:https",
        extra: dict[str, str] | None = None, resolve: str | None = None) -> str:
    """Git with ``args`` in ``work`` (see :func:`environment`, plus ``extra`` variables such
    as a commit's identity); its output, or :func:`failure`'s error."""
    env = environment(work, credentials, protocols=protocols, resolve=resolve) | (extra or {})
    try:
        done = subprocess.run(
            ["git", "-c", "core.fsmonitor=false", "-c", "commit.gpgsign=false",
             "-c", "core.autocrlf=false", "-c", "core.fileMode=true", *args], cwd=work,
            env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
            timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RemoteUnavailableError(f"git {args[0]} took longer than {timeout:g} "
                                     "seconds") from None
    if done.returncode != 0:
        raise failure(args[0], done.stderr)
    return done.stdout


def environment(work: Path, credentials: Credentials | None = None, *,
                protocols: str = "http:https", resolve: str | None = None) -> dict[str, str]:
    """The process's environment less git's own variables and configuration: no global or
    system settings, hooks or credential helpers, never a prompt, and no transport but
    HTTP(S) (no ``file://`` or SSH, even by redirect or submodule). ``credentials``
    become an ``http.extraHeader`` set here (never in arguments or URLs). Redirects are
    off: neither the header nor a fetch may follow one to another host. ``protocols``
    is ``file`` only for a repository the worker made itself (:func:`clone`'s
    ``local``). ``resolve`` (``host:port:address,...``) pins where git connects
    (``http.curloptResolve``: see :class:`~.git_fetch.HostCheck`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
                "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": "",
                "GIT_CEILING_DIRECTORIES": str(work.parent), "LC_ALL": "C",
                "HOME": str(work), "GIT_ALLOW_PROTOCOL": protocols})
    config = {"http.followRedirects": "false"}
    if credentials is not None:
        config["http.extraHeader"] = credentials.header()
    if resolve is not None:
        config["http.curloptResolve"] = resolve
    env["GIT_CONFIG_COUNT"] = str(len(config))
    for number, (key, value) in enumerate(config.items()):
        env[f"GIT_CONFIG_KEY_{number}"] = key
        env[f"GIT_CONFIG_VALUE_{number}"] = value
    return env


_STATUS = re.compile(r"returned error: (\d{3})")


def failure(command: str, stderr: str) -> GitPushError:
    """Git's failure as an error of ours, with one line of its reason (which never holds
    the credentials: they are in no URL)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    reason = next((re.sub(r"^(fatal|error): ", "", line) for line in lines
                   if line.startswith(("fatal:", "error:"))), lines[0] if lines else "")
    reason = reason or f"git {command} failed"
    found = _STATUS.search(stderr)
    status = int(found.group(1)) if found else None
    if status is None and ("could not read Username" in stderr
                           or "Authentication failed" in stderr):
        status = 401
    if status in (401, 403):
        return RemoteRefusedError(reason, status=status)
    if status == 404 or re.search(r"repository '[^']*' not found", stderr):
        return RemoteNotFoundError(reason)
    if command in ("push", "ls-remote") and "rejected" not in stderr:
        return RemoteUnavailableError(reason)
    return GitPushError(reason)


# -- project updates: a clone, one commit on a branch, its patch -------------------------
def clone(url: str, dest: Path, credentials: Credentials | None = None, *,
          local: bool = False) -> None:
    """Clone ``url`` (a forge's over HTTP(S), or with ``local`` a bare repository the
    worker made itself) into the new folder ``dest``."""
    run(dest.parent, "clone", "-q", "--no-hardlinks", url, str(dest), credentials=credentials,
        protocols="file" if local else "http:https")


def init(work: Path) -> None:
    """A new repository (with a working tree) in the empty folder ``work``, on ``main``."""
    run(work, "init", "-q", "-b", BRANCH)


def head(work: Path) -> str:
    return run(work, "rev-parse", "HEAD").strip()


def commit_all(work: Path, *, branch: str, author: Author, message: str) -> str | None:
    """Everything changed in the checkout ``work`` as one commit on a new ``branch`` (as
    ``author`` at ``author.at``: the same commit id whenever it is made again); None when
    nothing changed."""
    run(work, "checkout", "-q", "-B", branch)
    run(work, "add", "-A", ".")
    if not run(work, "status", "--porcelain").strip():
        return None
    stamp = f"{int(author.at.timestamp())} +0000"
    who = {"NAME": _clean(author.name), "EMAIL": _clean(author.email), "DATE": stamp}
    identity = {f"GIT_{role}_{key}": value for role in ("AUTHOR", "COMMITTER")
                for key, value in who.items()}
    run(work, "commit", "-q", "--no-verify", "-m", message, extra=identity)
    return head(work)


def write_patch(work: Path, base: str, target: str, out: Path) -> None:
    """The change from ``base`` to ``target`` as a patch ``git apply`` takes (binary files
    and modes included, no renames detected: every path shown whole) in ``out``."""
    run(work, "diff", "--binary", "--full-index", "--no-color", "--no-ext-diff",
         "--no-renames", f"--output={out}", base, target, "--")


def push_branch(work: Path, url: str, branch: str, credentials: Credentials) -> None:
    """Push ``branch`` to the remote's branch of that name (never forced: a branch there
    with other commits refuses it)."""
    run(work, "push", "-q", url, f"refs/heads/{branch}:refs/heads/{branch}",
         credentials=credentials)
