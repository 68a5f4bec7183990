"""One commit of a template's repository, fetched with limits, as a zip of its files.

The hosted service reads repositories people name, so every step is bounded:

* only ``https://`` and ``http://`` addresses (no ``file://``, SSH or local paths,
  which would read the server's own disk), and git may use no other protocol, even
  for a redirect or a submodule; an address a person gives that resolves to a
  private network (loopback, RFC 1918, link-local: the cloud's metadata service) is
  refused unless its host is in ``LAUNCHPAD_PRIVATE_REPOSITORY_HOSTS``
  (:func:`check_host`, which also pins the addresses it checked for git; a forge's
  own clone addresses are its settings' and trusted);
* :func:`remote_refs` (``git ls-remote``) and the fetch each run under a time
  limit; the fetch (``--depth 1`` of one ref, no checkout) is killed as soon as
  the repository's folder passes ``max_bytes``;
* the files leave as ``git archive --format=zip`` of the commit: the importer
  unpacks that zip in an isolated child under its own file and byte limits.

Credentials (a forge token) reach git only through :func:`git_push.environment`
(an ``http.extraHeader`` in the environment, redirects off), never in a URL, an
argument or a message.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import attrs

from launchpad_core.sources.repositories import releases

from .git_push import Credentials, GitPushError, RemoteUnavailableError, environment, failure, run

_FULL_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class RefNotFoundError(GitPushError):
    """The repository has no such branch or tag (or holds no release tag)."""

    code = "ref_not_found"


class FetchLimitError(GitPushError):
    """The repository is larger, or slower to fetch, than the limits allow."""

    code = "limit_exceeded"


@attrs.frozen
class Target:
    """What a ref named: the commit, and the tag when it is one."""

    commit: str
    tag: str | None = None
    ref: str | None = None  # the full ref name fetched (None: a commit id)


@attrs.frozen
class FetchLimits:
    max_bytes: int = 64 * 1024 * 1024
    seconds: float = 120.0


def checked_url(url: str) -> str | None:
    """Why ``url`` may not be fetched here (one line), or None when it may."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "give an https:// address of a repository (or gh:owner/name, gl:group/name)"
    if parts.username or parts.password:
        return (
            "give the address without a user name or password: private repositories "
            "are read with your linked forge account"
        )
    return None


@attrs.frozen
class HostCheck:
    """What :func:`check_host` found: why the address may not be read (None: it may), and
    the ``host:port:address,...`` git must connect to (``http.curloptResolve``), so that
    the addresses checked are the ones used: git looks the host up no second time, and a
    name that answers a public address to the check and a private one to the fetch (DNS
    rebinding) reaches nothing else."""

    refused: str | None = None
    resolve: str | None = None


def check_host(url: str, allowed: tuple[str, ...]) -> HostCheck:
    """Refuse ``url`` when its host resolves to a private, loopback, link-local or reserved
    address and is not ``allowed``; else pin the addresses found. A host that does not
    resolve is left to git, which says so; an ``allowed`` host is not pinned."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in allowed:
        return HostCheck()
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return HostCheck()
    addresses = []
    for *_rest, address in found:
        ip = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
        if not ip.is_global:
            return HostCheck(refused=(
                f"{host} is on a private network ({ip}): templates are imported from "
                "public addresses, or through a linked forge"))
        shown = f"[{ip}]" if ip.version == 6 else str(ip)
        if shown not in addresses:
            addresses.append(shown)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return HostCheck(resolve=f"{host}:{port}:{','.join(addresses)}" if addresses else None)


def remote_refs(
    work: Path, url: str, credentials: Credentials | None, *, seconds: float,
    resolve: str | None = None,
) -> dict[str, str]:
    """The remote's refs (``refs/tags/v1.0`` -> id; an annotated tag peeled); ``resolve``
    pins the host's addresses (:class:`HostCheck`)."""
    listed = run(work, "ls-remote", "--", url, credentials=credentials, timeout=seconds,
                 resolve=resolve)
    refs: dict[str, str] = {}
    for line in listed.splitlines():
        sha, _, name = line.partition("\t")
        if name.endswith("^{}"):
            refs[name.removesuffix("^{}")] = sha  # the commit an annotated tag points at
        elif name:
            refs.setdefault(name, sha)
    return refs


def newest_release(refs: Mapping[str, str]) -> Target | None:
    """The newest tag that is a PEP 440 release (Copier's default), or None."""
    tags = [
        (name.removeprefix("refs/tags/"), sha)
        for name, sha in refs.items()
        if name.startswith("refs/tags/")
    ]
    found = releases(tags)
    if not found:
        return None
    newest = found[-1]
    return Target(newest.commit, newest.tag, f"refs/tags/{newest.tag}")


def target(refs: Mapping[str, str], ref: str | None) -> Target:
    """The commit ``ref`` names among ``refs``: a tag, a branch, a full commit id; None
    means the newest release tag, else ``HEAD``. :class:`RefNotFoundError` otherwise."""
    if ref is None:
        newest = newest_release(refs)
        if newest is not None:
            return newest
        if "HEAD" in refs:
            return Target(refs["HEAD"], None, "HEAD")
        raise RefNotFoundError("the repository is empty")
    for name, tag in ((f"refs/tags/{ref}", ref), (f"refs/heads/{ref}", None)):
        if name in refs:
            return Target(refs[name], tag, name)
    if _FULL_COMMIT.fullmatch(ref):
        return Target(ref, None, None)
    raise RefNotFoundError(
        f"the repository has no branch or tag {ref!r} (a commit is given by its full id)"
    )


def fetch_zip(
    work: Path, url: str, found: Target, credentials: Credentials | None, *, limits: FetchLimits,
    resolve: str | None = None,
) -> bytes:
    """The files of ``found.commit`` as a zip (no ``.git``), fetched into the empty
    folder ``work`` within ``limits``."""
    run(work, "init", "-q", "--bare", ".")
    wanted = found.ref or found.commit
    _bounded_fetch(
        work,
        ["fetch", "-q", "--no-tags", "--depth", "1", "--", url, f"+{wanted}:refs/launchpad/import"],
        credentials,
        limits,
        resolve,
    )
    fetched = run(work, "rev-parse", "refs/launchpad/import^{commit}").strip()
    if fetched != found.commit:
        raise RemoteUnavailableError("the repository changed while it was read: try again")
    done = subprocess.run(
        ["git", "archive", "--format=zip", fetched],
        cwd=work,
        env=environment(work),
        capture_output=True,
        timeout=limits.seconds,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise failure("archive", done.stderr.decode(errors="replace"))
    return done.stdout


def _bounded_fetch(
    work: Path, args: list[str], credentials: Credentials | None, limits: FetchLimits,
    resolve: str | None = None,
) -> None:
    process = subprocess.Popen(
        ["git", "-c", "core.fsmonitor=false", *args],
        cwd=work,
        env=environment(work, credentials, resolve=resolve),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + limits.seconds
    try:
        while True:
            running = process.poll() is None
            if running and time.monotonic() > deadline:
                raise FetchLimitError(
                    f"fetching the repository took longer than {limits.seconds:g} seconds"
                )
            if _size(work) > limits.max_bytes:  # while it runs, and once more at its end
                raise FetchLimitError(f"the repository is larger than {limits.max_bytes:,} bytes")
            if not running:
                break
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            process.kill()
        _, stderr = process.communicate()
    if process.returncode != 0:
        raise failure("fetch", stderr)


def _size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue  # git renamed it meanwhile
    return total
