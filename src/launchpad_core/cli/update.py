"""``launchpad update`` and ``launchpad check``: keeping a generated project current.

``check`` is made for CI: exit 0 when the project is at its template's latest
version, 1 when it is behind, 2 when it cannot tell (no answers file, not a Git
template, unknown version ...).

A remote template's repository is mirrored in the CLI's cache (:mod:`.sources`);
without a cache, in a temporary folder removed after the command.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import LaunchpadError

if TYPE_CHECKING:
    from ..update.updating import GitCache, Update

CHECK_UP_TO_DATE, CHECK_BEHIND, CHECK_ERROR = 0, 1, 2


def update_commands(sub: argparse._SubParsersAction) -> None:
    update = sub.add_parser("update", help="bring a project to a newer version of its template")
    update.add_argument("project", nargs="?", default=".", help="the project (default: .)")
    update.add_argument("--to", metavar="VERSION",
                        help="the template's tag or commit (default: its latest version tag)")
    update.add_argument("-d", "--data", action="append", default=[], metavar="KEY=VALUE",
                        help="an answer to a new or changed question (repeatable)")
    update.add_argument("--defaults", action="store_true",
                        help="take defaults for new questions, never ask")
    update.add_argument("--dry-run", action="store_true",
                        help="print the changes as a diff; change nothing")
    update.add_argument("--conflict", choices=("inline", "rej"), default="inline",
                        help="conflicts as markers in the file (inline) or .rej files")
    update.add_argument("--force", action="store_true",
                        help="update even if the project's Git work tree has changes")
    update.add_argument("--answers-file", metavar="NAME",
                        help="the answers file, relative to the project "
                             "(default: .launchpad-answers.yml or .copier-answers.yml)")
    update.add_argument("--trust", action="store_true",
                        help="load the template's Jinja extensions (tasks are never run)")
    update.add_argument("--quiet", "-q", action="store_true")
    update.set_defaults(handler=_update)

    check = sub.add_parser(
        "check", help="is a project behind its template? (exit 0 current, 1 behind, 2 error)")
    check.add_argument("project", nargs="?", default=".", help="the project (default: .)")
    check.add_argument("--answers-file", metavar="NAME", help="the answers file's name")
    check.add_argument("--json", action="store_true", help="print the status as JSON")
    check.set_defaults(handler=_check)


def _update(args: argparse.Namespace) -> int:
    from ..update.merging import unified_diff
    from ..update.updating import (
        UpdateRequest,
        ensure_clean,
        prepare_update,
        read_record,
    )
    from .prompts import ask, parse_data

    project = Path(args.project)
    record = read_record(project, args.answers_file)
    if not args.force and not args.dry_run:
        ensure_clean(project)
    interactive = sys.stdin.isatty() and not args.defaults
    request = UpdateRequest(to=args.to, given=parse_data(args.data), conflict=args.conflict,
                            ask=ask if interactive else None, trusted=args.trust)
    lp = args.launchpad()
    with _git_cache(args) as cache:
        update = prepare_update(lp, project, record, request, cache)
    _warn(update.warnings)
    plan = update.plan
    if args.dry_run:
        for change in plan.changes:
            sys.stdout.writelines(unified_diff(change))
    else:
        from ..update.project_writes import apply_plan

        apply_plan(project, plan)
    if not args.quiet:
        _report(args, update)
    return 0


def _report(args: argparse.Namespace, update: Update) -> None:
    plan = update.plan
    verb = "Would update" if args.dry_run else "Updated"
    print(f"{verb} {args.project} from {update.from_ref} to {update.to_ref}: "
          f"{len(plan.changes)} change(s), {len(plan.conflicts)} conflict(s).", file=sys.stderr)
    for old, new in plan.renamed:
        print(f"  renamed: {old} -> {new}", file=sys.stderr)
    for path in plan.kept:
        print(f"  kept (edited, removed from the template): {path}", file=sys.stderr)
    for path in plan.conflicts:
        print(f"  conflict: {path}", file=sys.stderr)


def _check(args: argparse.Namespace) -> int:
    from ..update.updating import project_status

    try:
        with _git_cache(args) as cache:
            status = project_status(Path(args.project), cache, args.answers_file)
    except LaunchpadError as exc:
        print(f"launchpad: error: {exc}", file=sys.stderr)
        return CHECK_ERROR
    _warn(status.warnings)
    if args.json:
        print(status.as_json())
    elif status.behind:
        print(f"{args.project}: at {status.current}, {status.behind} version(s) behind "
              f"(latest {status.latest}: {', '.join(status.newer)})")
    else:
        print(f"{args.project}: up to date ({status.current})")
    return CHECK_BEHIND if status.behind else CHECK_UP_TO_DATE


@contextlib.contextmanager
def _git_cache(args: argparse.Namespace) -> Iterator[GitCache]:
    from ..sources.repositories import cache_or_temporary
    from ..update.updating import GitCache

    with cache_or_temporary(args.settings.cache_dir) as folder:
        yield GitCache(folder, args.settings.git_hosts)


def _warn(warnings: tuple[str, ...]) -> None:
    for warning in warnings:
        print(f"launchpad: warning: {warning}", file=sys.stderr)
