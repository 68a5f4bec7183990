"""Where a template's repository is, as a person names it, checked before anything is
fetched.

* ``gh:owner/name`` and ``gl:group/name`` are read through the person's linked GitHub
  or GitLab account when that forge is set up here and linked (private repositories
  then work), else as the public ``https://github.com/...`` / ``https://gitlab.com/...``;
* an ``https://`` (or ``http://``) address is fetched as it is, or, with ``forge``
  given, through the linked account: the forge is asked for the repository at the
  address's path and the address must be on that forge.

Anything else (``file://``, SSH, local paths, addresses with a user name or password)
is refused: the service must never read its own disk, and a token goes only to its
own forge, in git's environment (``launchpad_worker.git_fetch``).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import urlsplit

import attrs

from launchpad_core.config import DEFAULT_GIT_HOSTS

from ..errors import ValidationFailedError

#: Copier's shorthands, and the forge plugin that reads each through a linked account.
SHORTHANDS = {"gh": "github", "gl": "gitlab"}
PATH = re.compile(r"[A-Za-z0-9_.-]{1,100}(/[A-Za-z0-9_.-]{1,100}){1,10}")
SPEC_CHARACTERS = 1024
REF = re.compile(r"[^\x00-\x20~^:?*\[\\\x7f]{1,255}")
FORMATS = ("copier", "cookiecutter", "launchpad")


@attrs.frozen
class Address:
    """A checked repository address: ``forge`` and ``path`` to read it through a linked
    account (``url``, when given, must then be on that forge), else the public ``url``."""

    spec: str
    url: str | None
    forge: str | None = None
    path: str | None = None


def address(
    spec: str, *, forge: str | None, linked: Collection[str], field: str = "$.source"
) -> Address:
    """``spec`` checked (see the module); ``linked``: the forges set up here that the person
    has linked. 422 ``invalid_source`` at ``field`` for anything else."""
    spec = spec.strip()
    if not spec or len(spec) > SPEC_CHARACTERS:
        raise _invalid("give a repository: https://..., gh:owner/name or gl:group/name", field)
    host, colon, rest = spec.partition(":")
    if colon and host in SHORTHANDS:
        path = rest.lstrip("/").removesuffix(".git")
        if not PATH.fullmatch(path):
            raise _invalid(f"{host}: is followed by owner/name", field)
        via = forge or (SHORTHANDS[host] if SHORTHANDS[host] in linked else None)
        if via is not None and via != SHORTHANDS[host]:
            raise _invalid(f"{host}: names a {SHORTHANDS[host]} repository, not {via}'s", "$.forge")
        public = f"{DEFAULT_GIT_HOSTS[host].rstrip('/')}/{path}.git"
        return Address(spec, None if via else public, via, path if via else None)
    reason = unfetchable(spec)
    if reason is not None:
        raise _invalid(reason, field)
    if forge is None:
        return Address(spec, spec)
    path = urlsplit(spec).path.strip("/").removesuffix(".git")
    if not PATH.fullmatch(path):
        raise _invalid("the address does not name a repository (owner/name)", field)
    return Address(spec, spec, forge, path)


def unfetchable(url: str) -> str | None:
    """Why ``url`` may not be fetched here (one line), or None when it may."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "give an https:// address of a repository (or gh:owner/name, gl:group/name)"
    if "@" in parts.netloc:
        return (
            "give the address without a user name or password: private repositories "
            "are read through your linked forge account"
        )
    return None


def same_host(url: str, *others: str) -> bool:
    """Whether ``url`` is on the host (and port) of one of ``others``."""
    return urlsplit(url).netloc.lower() in {urlsplit(o).netloc.lower() for o in others}


def checked_ref(ref: str | None, field: str = "$.ref") -> str | None:
    """A branch, tag or commit name git accepts (None: the default)."""
    if ref is None:
        return None
    if (
        not REF.fullmatch(ref)
        or ref.startswith(("-", "/"))
        or ".." in ref
        or ref.endswith((".lock", "/", "."))
    ):
        raise ValidationFailedError.one("invalid_ref", "not a branch, tag or commit name", field)
    return ref


def checked_format(format: str | None) -> str | None:
    if format is not None and format not in FORMATS:
        raise ValidationFailedError.one(
            "invalid_format", f"the format is one of {', '.join(FORMATS)}", "$.format"
        )
    return format


def _invalid(message: str, field: str) -> ValidationFailedError:
    return ValidationFailedError.one("invalid_source", message, field)
