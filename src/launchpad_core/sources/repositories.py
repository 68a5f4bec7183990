"""Templates from Git repositories, found and checked out as Copier does.

A template source on the command line is a definition file, a directory, or a
Git repository: ``gh:owner/name``, ``gl:group/name``, a URL (``https://``,
``git+https://``, ``git://``, ``git@host:path``, ``ssh://``, ``file://``, or any
address ending in ``.git``) or the path of a local repository.
:func:`resolve_source` gives the directory to load it from; :func:`list_versions`
the repository's release tags; :func:`cached_repository` the cached mirror itself,
whose versions, commits and checkouts ``launchpad update`` and ``check`` use.
Git runs through :mod:`.git`.

The rules are Copier's (``copier copy``):

* ``gh:`` and ``gl:`` expand to ``<base>/owner/name.git`` (bases from
  :class:`~launchpad_core.config.CoreSettings.git_hosts`); ``git+`` is dropped;
  an ``https://github.com/`` or ``https://gitlab.com/`` address gets ``.git``.
* Without a ref, the newest tag by PEP 440 (``packaging.version``; tags that
  are not versions are ignored, pre-releases too unless asked for), else
  ``HEAD``. A ref is a branch, a tag or a commit.
* A local repository read at ``HEAD`` is its working tree as it is, edits
  included (Copier commits them into its clone); at any other ref, a checkout.
* The template's ``_commit`` is ``git describe --tags --always`` of the
  checkout: the tag, or ``TAG-N-gHASH`` when commits follow it.

Cache layout, under ``<cache>/git/`` (the CLI's cache, :mod:`.cachedir`):

* ``<key>.git``: a bare ``--mirror`` clone of each repository (``key``: SHA-256 of
  its address without credentials), fetched when a run needs what it may lack:
  the newest tag (no ref given), a branch or ``HEAD``, or a ref it does not hold.
  A tag or commit already held is used without the network. A repository that
  cannot be reached but is held answers from the cache, with a warning.
* ``trees/<key>-<commit>``: a checkout of one commit (a local clone of the
  mirror, tags included, so ``git describe`` answers as in Copier's worktree);
  the ten most recently used per repository are kept.

Everything is created under a temporary name and renamed into place, under a
per-repository lock: a failed or interrupted clone leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import attrs

from ..config import DEFAULT_GIT_HOSTS
from ..errors import SourceError
from .git import (
    NETWORK_SECONDS,
    describe,
    git_failure,
    git_output,
    is_repository_root,
    run_git,
    without_credentials,
)

#: Copier's prefixes of addresses that are Git repositories whatever they end with.
_GIT_PREFIXES = ("git@", "git://", "git+", "ssh://", "file://",
                 "https://github.com/", "https://gitlab.com/")
_SHORTHAND = re.compile(r"^(?P<host>[a-z]+):/?(?P<path>[^/].*)$")
_HEX = re.compile(r"^[0-9a-f]{7,64}$")
#: Checkouts kept per repository (least recently used out first).
KEEP_TREES = 10


@attrs.frozen
class ResolvedSource:
    """A template source made ready to load.

    :ivar spec: the source as given (Copier's ``_src_path``, Cookiecutter's ``_template``).
    :ivar path: the directory (or definition file) to load.
    :ivar url: the Git address cloned or read, None when the source is no repository.
    :ivar ref: the ref asked for (Copier's ``vcs_ref``), None for the default.
    :ivar commit: the full hash checked out, None when no repository.
    :ivar tag: the tag checked out when the ref is one (or the default newest tag).
    :ivar describe: ``git describe --tags --always`` of it (Copier's ``_commit``).
    :ivar warnings: what a person should be told (a fetch that failed ...).
    """

    spec: str
    path: Path
    url: str | None = None
    ref: str | None = None
    commit: str | None = None
    tag: str | None = None
    describe: str | None = None
    warnings: tuple[str, ...] = ()


@attrs.frozen
class Release:
    """One release tag of a repository: its name and the commit it points to."""

    tag: str
    commit: str


# -- addresses ---------------------------------------------------------------------------------
def git_url(spec: str, hosts: Mapping[str, str] | None = None) -> str | None:
    """The Git address ``spec`` names, or None when it is no repository (a directory or a
    file that is not a repository's top level, or something that does not exist)."""
    bases = DEFAULT_GIT_HOSTS if hosts is None else hosts
    short = _SHORTHAND.match(spec)
    if short and short["host"] in bases:
        path = short["path"] if short["path"].endswith(".git") else f"{short['path']}.git"
        return f"{bases[short['host']].rstrip('/')}/{path}"
    if spec.startswith(_GIT_PREFIXES) or spec.endswith(".git"):
        url = spec.removeprefix("git+")
        if url.startswith("~"):
            url = str(Path(url).expanduser())
        forge = url.startswith(("https://github.com/", "https://gitlab.com/"))
        if forge and not url.endswith(".git"):
            url += ".git"
        return url
    path = Path(spec).expanduser()
    return str(path) if is_repository_root(path) else None


def _cache_key(url: str) -> str:
    parts = urlsplit(url)
    if parts.netloc and "@" in parts.netloc:
        url = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    elif _is_local(url):
        url = str(Path(url.removeprefix("file://")).expanduser().resolve())
    return hashlib.sha256(url.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _is_local(url: str) -> bool:
    """Copier's test: a ``file://`` address, or a path that exists."""
    return url.startswith("file://") or Path(url).expanduser().exists()


# -- the two entry points ----------------------------------------------------------------------
def resolve_source(
    spec: str,
    ref: str | None = None,
    *,
    cache_dir: Path,
    hosts: Mapping[str, str] | None = None,
    prereleases: bool = False,
    local_checkout: bool = True,
) -> ResolvedSource:
    """The directory to load the template ``spec`` from, at ``ref`` (see the module).

    ``local_checkout=False`` reads a local repository's working tree unless a ``ref``
    is given (Cookiecutter's way; Copier checks out the newest tag). Raises
    :class:`~launchpad_core.errors.SourceError`: unreachable, unknown ref, no Git.
    """
    if ref is not None and (not ref or "\n" in ref or "\r" in ref):
        raise SourceError(f"not a Git ref: {ref!r}")
    url = git_url(spec, hosts)
    if url is None:
        if ref is not None:
            raise SourceError(f"{spec} is not a Git repository, so it has no ref {ref!r}")
        return ResolvedSource(spec=spec, path=Path(spec))
    working_tree = Path(url) if (Path(url) / ".git").exists() else None
    if working_tree is not None and ref in (None, "HEAD"):
        tags = _versions(["-C", url], prereleases) if ref is None and local_checkout else []
        if not tags:
            return _as_it_is(spec, working_tree, ref)
    with CachedRepository(cache_dir, url) as repo:
        return repo.resolve(spec, ref, prereleases=prereleases)


def list_versions(
    spec: str,
    *,
    cache_dir: Path,
    hosts: Mapping[str, str] | None = None,
    prereleases: bool = False,
) -> list[Release]:
    """The release tags of the repository ``spec``, oldest first by PEP 440 (tags that are
    not versions left out, and pre-releases unless ``prereleases``); the newest is the
    default ref of :func:`resolve_source`. Fetches the repository into the cache first."""
    with cached_repository(spec, cache_dir=cache_dir, hosts=hosts) as repo:
        if repo.warnings:  # a list of versions is only worth having current
            raise SourceError(repo.warnings[0].partition("; ")[0])
        return repo.versions(prereleases=prereleases)


@contextlib.contextmanager
def cached_repository(
    spec: str, *, cache_dir: Path, hosts: Mapping[str, str] | None = None
) -> Iterator[CachedRepository]:
    """The cached mirror of the repository ``spec``, cloned or fetched (a fetch that fails
    leaves it as held, with a warning), locked until the block ends."""
    url = git_url(spec, hosts)
    if url is None:
        raise SourceError(f"{spec} is not a Git repository")
    with CachedRepository(cache_dir, url) as repo:
        repo.warnings = repo.fetch()
        yield repo


@contextlib.contextmanager
def cache_or_temporary(cache_dir: Path | None) -> Iterator[Path]:
    """``cache_dir``; without one (no cache configured), a temporary folder removed after."""
    if cache_dir is not None:
        yield cache_dir
        return
    with tempfile.TemporaryDirectory(prefix="launchpad-git-") as temporary:
        yield Path(temporary)


def _as_it_is(spec: str, root: Path, ref: str | None) -> ResolvedSource:
    """A local working tree read as it is (at ``HEAD``, edits included)."""
    commit = git_output("-C", str(root), "rev-parse", "HEAD")
    return ResolvedSource(
        spec=spec, path=root, url=str(root), ref=ref,
        commit=commit.strip() if commit else None, describe=describe(root),
    )


def _versions(repository: list[str], prereleases: bool) -> list[Release]:
    """Tags of the ``repository`` (git's options that name it) that are PEP 440 versions,
    in Copier's order (:func:`releases`)."""
    listing = git_output(*repository, "for-each-ref",
                         "--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)",
                         "refs/tags") or ""
    pairs = []
    for line in listing.splitlines():
        tag, object_id, peeled = line.split("\0")
        pairs.append((tag, peeled or object_id))
    return releases(pairs, prereleases=prereleases)


def releases(tags: Iterable[tuple[str, str]], *, prereleases: bool = False) -> list[Release]:
    """The ``(tag, commit)`` pairs whose tag is a PEP 440 version, oldest first in Copier's
    order (by version, ties by name), pre-releases left out unless ``prereleases``: the
    last is the default ref of :func:`resolve_source` (a remote's ``git ls-remote``
    listing is read the same way)."""
    from packaging.version import InvalidVersion
    from packaging.version import Version as Pep440

    found: list[tuple[Pep440, Release]] = []
    for tag, commit in tags:
        try:
            number = Pep440(tag)
        except InvalidVersion:
            continue
        if prereleases or not number.is_prerelease:
            found.append((number, Release(tag=tag, commit=commit)))
    # Copier takes the first of equal versions in name order: reverse-sorted stably.
    newest_first = sorted(found, key=lambda pair: pair[0], reverse=True)
    return [version for _number, version in reversed(newest_first)]


# -- the cache of one repository ---------------------------------------------------------------
class CachedRepository:
    """The mirror and checkouts of one repository, locked while in use (a ``with`` block).

    :ivar warnings: what :func:`cached_repository`'s fetch warned of.
    """

    def __init__(self, cache_dir: Path, url: str):
        self.url = url
        self.root = cache_dir / "git"
        key = _cache_key(url)
        self.key = key
        self.mirror = self.root / f"{key}.git"
        self.trees = self.root / "trees"
        #: git's options that name the mirror.
        self.git = ["--git-dir", str(self.mirror)]
        self.warnings: tuple[str, ...] = ()
        self._lock: contextlib.ExitStack | None = None

    def __enter__(self) -> CachedRepository:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock = open(self.root / f"{self.key}.lock", "wb")
        except OSError as exc:
            raise SourceError(f"cannot use the cache {self.root}: {exc.strerror}") from None
        self._lock = contextlib.ExitStack()
        self._lock.enter_context(lock)
        fcntl.flock(lock, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._lock is not None
        self._lock.close()

    @property
    def held(self) -> bool:
        """Whether a complete mirror is in the cache (it is renamed into place when done)."""
        return (self.mirror / "HEAD").is_file()

    def fetch(self) -> tuple[str, ...]:
        """Clone or fetch the mirror; a fetch that fails leaves it held, with a warning."""
        if not self.held:
            self._clone()
            return ()
        failure = git_failure(*self.git, "fetch", "--prune", "--quiet", "origin",
                              timeout=NETWORK_SECONDS)
        if failure is None:
            return ()
        return (f"cannot fetch {self.shown}: {failure}; using the copy cached earlier",)

    @property
    def shown(self) -> str:
        return without_credentials(self.url)

    def _clone(self) -> None:
        with _staging(self.root) as staging:
            target = staging / "mirror.git"
            failure = git_failure("clone", "--mirror", "--quiet", "--", self.url, str(target),
                                  timeout=NETWORK_SECONDS)
            if failure is not None:
                raise SourceError(f"cannot clone {self.shown}: {failure}")
            os.rename(target, self.mirror)

    def resolve(self, spec: str, ref: str | None, *, prereleases: bool) -> ResolvedSource:
        commit = self._held_fixed_ref(ref)
        if commit is None:
            self.warnings = self.fetch()
            if ref is None:
                versions = self.versions(prereleases=prereleases)
                ref_used = versions[-1].tag if versions else "HEAD"
            else:
                ref_used = ref
            commit = self.commit_of(ref_used, missing=f"{spec} has no branch, tag or commit")
        else:
            ref_used = ref or "HEAD"
        tree = self.checkout(commit)
        is_tag = f"refs/tags/{ref_used}" in self._refs_named(ref_used)
        return ResolvedSource(
            spec=spec, path=tree, url=self.url, ref=ref, commit=commit,
            tag=ref_used if is_tag else None, describe=describe(tree), warnings=self.warnings,
        )

    def versions(self, *, prereleases: bool = False) -> list[Release]:
        """The mirror's release tags (:func:`list_versions`)."""
        return _versions(self.git, prereleases)

    def commit_of(self, ref: str, *, missing: str) -> str:
        """The full hash of the commit ``ref`` names; :class:`SourceError` ``missing ref``
        when there is none, or when the fetch failed (the cache lacks it: say why)."""
        commit = self._find(ref)
        if commit is not None:
            return commit
        if self.warnings:  # not fetched: the ref may well exist
            raise SourceError(f"{self.warnings[0].partition('; ')[0]}, and the cache holds "
                              f"no {ref!r}")
        raise SourceError(f"{missing} {ref!r}")

    def is_ancestor(self, older: str, newer: str) -> bool:
        """Whether the commit ``older`` is ``newer`` or one of its ancestors."""
        done = run_git(*self.git, "merge-base", "--is-ancestor", older, newer)
        return done.returncode == 0

    def _held_fixed_ref(self, ref: str | None) -> str | None:
        """The commit of ``ref`` when the cache holds it and it cannot have moved: a tag or
        a commit id (a branch or ``HEAD`` may have, so they are fetched)."""
        if ref is None or not self.held:
            return None
        named = self._refs_named(ref)
        fixed = f"refs/tags/{ref}" in named or (_HEX.match(ref) is not None and not named)
        return self._find(ref) if fixed else None

    def _refs_named(self, name: str) -> set[str]:
        """The branch and tag called ``name`` in the mirror (full ref names)."""
        listing = git_output(*self.git, "for-each-ref", "--format=%(refname)",
                              f"refs/heads/{name}", f"refs/tags/{name}")
        return set((listing or "").split())

    def _find(self, ref: str) -> str | None:
        """The full hash of the commit ``ref`` names in the mirror, read as Copier reads it
        (``cat-file`` on standard input: a ref is never taken for an option)."""
        done = run_git(*self.git, "cat-file", "--batch-check=%(objectname)",
                       stdin=f"{ref}^{{commit}}\n")
        output = done.stdout.strip() if done.returncode == 0 else ""
        return output if re.fullmatch(r"[0-9a-f]{40,64}", output) else None

    def checkout(self, commit: str) -> Path:
        """The cached checkout of ``commit`` (a clone of the mirror, tags included)."""
        tree = self.trees / f"{self.key}-{commit}"
        if not (tree / ".git").is_dir():
            self.trees.mkdir(parents=True, exist_ok=True)
            with _staging(self.trees) as staging:
                target = staging / "tree"
                failure = (
                    git_failure("clone", "--no-checkout", "--quiet", "--", str(self.mirror),
                                 str(target))
                    or git_failure("-C", str(target), "-c", "advice.detachedHead=false",
                                    "checkout", "--quiet", "--detach", commit)
                )
                if failure is not None:
                    raise SourceError(f"cannot check out {commit[:12]} of {self.shown}: {failure}")
                os.rename(target, tree)
        os.utime(tree)
        self._prune()
        return tree

    def _prune(self) -> None:
        """Keep the :data:`KEEP_TREES` checkouts of this repository used last."""
        mine = sorted(self.trees.glob(f"{self.key}-*"), key=lambda p: p.stat().st_mtime,
                      reverse=True)
        for old in mine[KEEP_TREES:]:
            with _staging(self.trees) as staging:
                os.rename(old, staging / "old")


@contextlib.contextmanager
def _staging(parent: Path) -> Iterator[Path]:
    """A temporary folder in ``parent`` (same file system: renames out of it are atomic),
    removed with whatever is left in it, whatever happens."""
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)
