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
* A local repository read at ``HEAD`` is, for Cookiecutter, its working tree as
  it is; for Copier (``local_checkout``), a clone of it, its edits committed
  into the clone first as Copier commits them (:func:`local_clone`); at any
  other ref, a checkout.
* Submodules are checked out with the template, recursively, when its tool
  does so (Copier: ``git submodule update --checkout --init --recursive
  --force``; Cookiecutter never does). A relative submodule address is taken
  relative to the template's own address, as in Copier's clone. Local
  submodule addresses need Git's ``protocol.file.allow=always``, in Git's own
  configuration, as for Copier.
* The template's ``_commit`` is ``git describe --tags --always`` of the
  checkout: the tag, or ``TAG-N-gHASH`` when commits follow it.

Cache layout, under ``<cache>/git/`` (the CLI's cache, :mod:`.cachedir`):

* ``<key>.git``: a bare ``--mirror`` clone of each repository (``key``: SHA-256 of
  its address without credentials), fetched when a run needs what it may lack:
  the newest tag (no ref given), a branch or ``HEAD``, or a ref it does not hold.
  A tag or commit already held is used without the network. A repository that
  cannot be reached but is held answers from the cache, with a warning.
* ``trees/<key>-<commit>``: a checkout of one commit (a local clone of the
  mirror, tags included, so ``git describe`` answers as in Copier's worktree),
  ``trees/<key>-<commit>-submodules`` the same with its submodules; the ten
  most recently used per repository are kept.
* ``drafts/``: the clones of local working trees, one per command, removed
  when it ends (a commit of their edits is made anew each time).

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
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import attrs

from ..config import DEFAULT_GIT_HOSTS
from ..errors import SourceError
from .git import (
    COMMIT_DATES,
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
#: Who commits a local template's edits into its clone, and how (Copier's ``vcs.clone``).
DRAFT_IDENTITY = {"GIT_AUTHOR_NAME": "Copier", "GIT_AUTHOR_EMAIL": "copier@copier",
                  "GIT_COMMITTER_NAME": "Copier", "GIT_COMMITTER_EMAIL": "copier@copier"}
DRAFT_MESSAGE = "Copier automated commit for draft changes"
DRAFT_WARNING = ("the template's uncommitted changes are included "
                 "(committed in a clone, as Copier does)")
#: Whether the template in a checkout is one whose tool checks out submodules.
WithSubmodules = Callable[[Path], bool]


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
    :ivar temporary: ``path`` is the caller's to remove once loaded (a draft clone).
    """

    spec: str
    path: Path
    url: str | None = None
    ref: str | None = None
    commit: str | None = None
    tag: str | None = None
    describe: str | None = None
    warnings: tuple[str, ...] = ()
    temporary: bool = False


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
    submodules: WithSubmodules | None = None,
) -> ResolvedSource:
    """The directory to load the template ``spec`` from, at ``ref`` (see the module).

    ``local_checkout=False`` reads a local repository's working tree unless a ``ref``
    is given (Cookiecutter's way; Copier checks out the newest tag, or clones the
    working tree with its edits). ``submodules`` tells from a checkout whether its
    template's tool checks out submodules (none are, without it). Raises
    :class:`~launchpad_core.errors.SourceError`: unreachable, unknown ref, no Git.
    A ``temporary`` answer's folder is the caller's to remove.
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
        if not tags and not local_checkout:
            return _as_it_is(spec, working_tree, ref)
        if not tags:
            return local_clone(spec, working_tree, ref, cache_dir=cache_dir,
                               submodules=submodules)
    with CachedRepository(cache_dir, url) as repo:
        return repo.resolve(spec, ref, prereleases=prereleases, submodules=submodules)


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


def _is_dirty(root: Path) -> bool:
    """Copier's test of a local template: ``git status --porcelain`` says anything."""
    return bool((git_output("-C", str(root), "status", "--porcelain") or "").strip())


def local_clone(
    spec: str, root: Path, ref: str | None, *, cache_dir: Path,
    submodules: WithSubmodules | None = None,
) -> ResolvedSource:
    """What Copier renders of the local working tree ``root`` at ``HEAD``: a clone of it,
    checked out; when the working tree has edits (``git status --porcelain`` says
    anything), its ``HEAD`` is first a commit of them (``git add -A`` of the working
    tree, then a commit by ``Copier <copier@copier>``, :data:`DRAFT_MESSAGE`).

    That commit's hash, part of ``_commit``, depends on its time, as Copier's does: both
    are equal when made in the same second (or with the same ``GIT_AUTHOR_DATE`` and
    ``GIT_COMMITTER_DATE``, which this commit takes from the caller as Copier's does).
    Files Git ignores are left out, as in Copier's clone. The folder is temporary (the
    commit is made anew each time)."""
    drafts = cache_dir / "git" / "drafts"
    try:
        drafts.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SourceError(f"cannot use the cache {drafts}: {exc.strerror}") from None
    tree = Path(tempfile.mkdtemp(prefix="draft-", dir=drafts))
    try:
        dirty = _clone_with_edits(root, tree, submodules)
        commit = git_output("-C", str(tree), "rev-parse", "HEAD")
        found = describe(tree)
    except BaseException:  # Git failed, is missing, too slow, or the command was stopped
        shutil.rmtree(tree, ignore_errors=True)
        raise
    return ResolvedSource(
        spec=spec, path=tree, url=str(root), ref=ref, commit=commit.strip() if commit else None,
        describe=found, temporary=True, warnings=(DRAFT_WARNING,) if dirty else (),
    )


def _clone_with_edits(root: Path, tree: Path, submodules: WithSubmodules | None) -> bool:
    """Clone ``root`` into ``tree`` and check it out as :func:`local_clone` says; whether
    it had edits. :class:`SourceError` when Git fails."""
    gitdir = ["--git-dir", str(tree / ".git")]
    failure = git_failure("clone", "--no-checkout", "--quiet", "--", str(root), str(tree))
    dirty = failure is None and _is_dirty(root)
    if dirty:
        failure = (
            git_failure(*gitdir, "--work-tree", str(root), "add", "-A")
            or git_failure(*gitdir, "--work-tree", str(root), "commit", "--quiet", "-m",
                           DRAFT_MESSAGE, "--no-verify", "--no-gpg-sign",
                           env=DRAFT_IDENTITY, kept=COMMIT_DATES)
        )
    failure = failure or git_failure("-C", str(tree), "-c", "advice.detachedHead=false",
                                     "checkout", "--quiet", "-f", "HEAD")
    if failure is None and submodules is not None and _has_submodules(tree) and submodules(tree):
        failure = _update_submodules(tree)
    if failure is not None:
        raise SourceError(f"cannot clone {root}: {failure}")
    return dirty


def _has_submodules(tree: Path) -> bool:
    return (tree / ".gitmodules").is_file()


def _update_submodules(tree: Path) -> str | None:
    """Check out the submodules of the checkout ``tree`` as Copier does; why not, or None."""
    return (
        git_failure("-C", str(tree), "submodule", "sync", "--quiet", "--recursive")
        or git_failure("-C", str(tree), "submodule", "update", "--quiet", "--checkout",
                       "--init", "--recursive", "--force", timeout=NETWORK_SECONDS)
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

    def resolve(
        self, spec: str, ref: str | None, *, prereleases: bool,
        submodules: WithSubmodules | None = None,
    ) -> ResolvedSource:
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
        if submodules is not None and _has_submodules(tree) and submodules(tree):
            tree = self.checkout(commit, submodules=True)
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

    def checkout(self, commit: str, *, submodules: bool = False) -> Path:
        """The cached checkout of ``commit`` (a clone of the mirror, tags included), with
        its submodules checked out when asked (their relative addresses taken relative to
        the repository's, not the mirror's)."""
        tree = self.trees / f"{self.key}-{commit}{'-submodules' if submodules else ''}"
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
                if failure is None and submodules:
                    failure = (git_failure("-C", str(target), "remote", "set-url", "origin",
                                           self.url)
                               or _update_submodules(target))
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
