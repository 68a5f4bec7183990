"""The ``launchpad`` command line.

Every :class:`LaunchpadError` becomes a short message on stderr and exit code
1 here, in one place; usage errors exit with 2 (argparse's convention).

Each command imports what it runs inside its handler, so ``launchpad render``
does not pay for the schema, the YAML writer or the task runner it may not use.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pluggy

from .. import __version__
from ..config import CoreSettings
from ..errors import LaunchpadError, LoadError, ProblemsError
from ..plugins.manager import Hooks, make_plugin_manager
from .colour import palette
from .hosted import hosted_commands
from .prompts import InputEndedError, resolve_interactively
from .update import update_commands
from .writing import write_files

if TYPE_CHECKING:
    from ..launchpad import Launchpad
    from ..model.answers import Answers
    from ..model.template import Template

SOURCE_HELP = ("definition file, template directory, or Git repository: gh:owner/name, "
               "gl:group/name, a URL or a local repository")
PROGRESS_FROM = 200  # files; smaller renders finish before a bar is worth drawing


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if _named_command(argv) not in _QUICK_EXIT:
        gc.enable()  # the console script starts without collecting: see exit_after
    settings = CoreSettings.from_env()
    err = palette(sys.stderr, setting=settings.colour)
    try:
        pm = make_plugin_manager(only=settings.plugins, cache_dir=settings.cache_dir)
        parser = _parser(pm, _named_command(argv))
        args = parser.parse_args(argv)
        if args.handler is None:  # `launchpad` alone: the help, as for --help
            parser.print_help()
            return 0
        args.parser = parser
        args.settings = settings
        args.launchpad = functools.partial(_launchpad, pm, settings)
        return args.handler(args)
    except ProblemsError as exc:
        print(f"launchpad: {err.error(exc.message)}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem.path}: {problem.message}", file=sys.stderr)
        return 1
    except (LaunchpadError, InputEndedError) as exc:
        print(f"launchpad: {err.error('error:')} {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a file or folder named on the command line
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"launchpad: {err.error('error:')} {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("launchpad: interrupted", file=sys.stderr)
        return 130


#: Commands that read the whole command line's parser, not only their own.
_WHOLE_PARSER = frozenset({"completion"})


def _named_command(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names, when only its parser need be built (None: build all,
    for help, a shell completion script, or a line without a command)."""
    for arg in argv:
        if arg in ("-h", "--help", "--"):
            return None
        if not arg.startswith("-"):
            return None if arg in _WHOLE_PARSER else arg
    return None


class _OneCommand:
    """The ``add_subparsers()`` action of a command line naming ``command``: that
    command's parser is built, every other one is :class:`_Unbuilt` (a cold command
    pays for one parser, not for every command's arguments)."""

    def __init__(self, real: argparse._SubParsersAction, command: str):
        self.real = real
        self.command = command
        self.found = False

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if self.command != name and self.command not in kwargs.get("aliases", ()):
            return _Unbuilt()
        self.found = True
        return self.real.add_parser(name, **kwargs)


class _Unbuilt:
    """The parser of a command not run: takes and forgets what is added to it."""

    def __getattr__(self, name: str) -> Callable[..., _Unbuilt]:
        return self._forget

    def _forget(self, *args: Any, **kwargs: Any) -> _Unbuilt:
        return self


def _parser(pm: pluggy.PluginManager, command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with ``command``, only that command's sub-parser is
    built (every one when no command has that name, for argparse's error)."""
    parser = argparse.ArgumentParser(
        prog="launchpad", description="LaunchPad: render project templates, safely."
    )
    parser.add_argument("--version", action="version", version=f"launchpad {__version__}")
    parser.set_defaults(handler=None)
    every = parser.add_subparsers(metavar="COMMAND")
    sub: Any = every if command is None else _OneCommand(every, command)

    render = sub.add_parser("render", help="render a template into a new project")
    render.add_argument("source", help=SOURCE_HELP)
    render.add_argument("dest", help="output directory, or archive file (.zip, .tar.gz, .tgz)")
    render.add_argument("-d", "--data", action="append", default=[], metavar="KEY=VALUE",
                        help="an answer (repeatable)")
    render.add_argument("--answers-file", type=Path, help="answers from a YAML or JSON file")
    render.add_argument("--defaults", action="store_true",
                        help="take defaults for every unanswered variable, never ask")
    render.add_argument("--format", choices=("dir", "zip", "tar.gz"),
                        help="output format (default: from DEST's extension, else dir)")
    render.add_argument("--force", action="store_true", help="overwrite existing files")
    render.add_argument("--trust", action="store_true",
                        help="allow the template to run code (tasks, hooks, extensions)")
    _template_options(render, kind=True)
    render.add_argument("--quiet", "-q", action="store_true")
    render.set_defaults(handler=_render)

    imp = sub.add_parser("import", help="turn a template directory into one definition file")
    imp.add_argument("format", help="importer name: copier, cookiecutter, launchpad, ...")
    imp.add_argument("source", help="the template directory or Git repository")
    imp.add_argument("-o", "--output", type=Path, required=True,
                     help="definition file to write (.json, .yml)")
    imp.add_argument("--trust", action="store_true",
                     help="accept a template that runs code (tasks, hooks, extensions)")
    _template_options(imp, kind=False)
    imp.set_defaults(handler=_import)

    validate = sub.add_parser("validate", help="check a template; list every problem")
    validate.add_argument("source", help=SOURCE_HELP)
    validate.add_argument("--trust", action="store_true",
                          help="load the template's Jinja extensions to check what uses them")
    _template_options(validate, kind=True)
    validate.set_defaults(handler=_validate)

    schema = sub.add_parser("schema", help="print the JSON Schema of template definitions")
    schema.set_defaults(handler=_schema)

    plugins = sub.add_parser("plugins", help="list loaded plugins and their hooks")
    plugins.set_defaults(handler=_plugins)

    daemon = sub.add_parser(
        "daemon", help="keep LaunchPad loaded in the background: faster render, validate, import")
    daemon.add_argument("action", choices=("start", "stop", "status"))
    daemon.add_argument("--idle-timeout", type=_seconds, default=15 * 60, metavar="SECONDS",
                        help="exit after this long without a command (900)")
    daemon.set_defaults(handler=_daemon)
    completion = sub.add_parser("completion", help="print a shell completion script")
    completion.add_argument("shell", choices=("bash", "zsh"))
    completion.set_defaults(handler=_completion)
    update_commands(sub)
    hosted_commands(sub)
    Hooks(pm).register_commands(subparsers=sub)
    if command is not None and not sub.found:
        return _parser(pm)
    return parser


def _template_options(parser: argparse.ArgumentParser, *, kind: bool) -> None:
    parser.add_argument("--vcs-ref", metavar="REF",
                        help="the branch, tag or commit of a Git template "
                             "(default: the newest PEP 440 tag, else HEAD)")
    parser.add_argument("--prereleases", action="store_true",
                        help="let the default ref be a pre-release tag")
    parser.add_argument("--skip-tasks", action="store_true",
                        help="leave out the template's tasks and hooks (they need no --trust)")
    parser.add_argument("--accept-hooks", choices=("yes", "no"), default="yes",
                        help="Cookiecutter's switch: 'no' is --skip-tasks")
    if kind:
        parser.add_argument("--template-format", metavar="FORMAT",
                            help="the kind of template in a directory holding several: "
                                 "launchpad, copier, cookiecutter")


def _skipping(args: argparse.Namespace) -> bool:
    return args.skip_tasks or args.accept_hooks == "no"


def _load(args: argparse.Namespace, lp: Launchpad, *, record_origin: bool = False) -> Template:
    """The template of ``args.source`` with the options of the command; a skip is stated.
    ``record_origin``: a LaunchPad template tells where it came from, and which commit
    (:func:`~launchpad_core.sources.loading.with_git_origin`), for ``launchpad update``."""
    with _resolved(args, lp, args.template_format) as path:
        template = lp.load(path, trusted=args.trust, skip_tasks=_skipping(args),
                           format=args.template_format)
        if record_origin:
            from ..sources.loading import with_git_origin

            local = Path(args.source)
            source = str(local.resolve()) if local.is_dir() else args.source
            template = with_git_origin(template, path, source=source)
    return _stating_skipped(_with_source(args, lp, template))


@contextlib.contextmanager
def _resolved(args: argparse.Namespace, lp: Launchpad, format: str | None) -> Iterator[Path]:
    """The directory (or file) to load ``args.source`` from: a Git repository's checkout
    (:mod:`launchpad_core.sources.repositories`), in the cache or, without one, a folder
    removed after.
    Errors of loading it name the source as given, not the checkout."""
    source = Path(args.source)
    if not _maybe_git(args.source, args.vcs_ref):
        yield source
        return
    from ..sources.repositories import cache_or_temporary, resolve_source

    with cache_or_temporary(args.settings.cache_dir) as cache:
        resolved = resolve_source(
            args.source, args.vcs_ref, cache_dir=cache, hosts=args.settings.git_hosts,
            prereleases=args.prereleases, local_checkout=_tool_clones(lp, source, format),
            submodules=lambda tree: _tool_clones(lp, tree, format))
        for warning in resolved.warnings:
            print(f"launchpad: warning: {warning}", file=sys.stderr)
        try:
            yield resolved.path
        except LoadError as exc:
            exc.message = exc.message.replace(str(resolved.path), args.source)
            raise
        finally:
            if resolved.temporary:
                import shutil

                shutil.rmtree(resolved.path, ignore_errors=True)


def _maybe_git(source: str, ref: str | None) -> bool:
    """Whether ``source`` may be a Git repository (the rest is for :mod:`.sources`): cheap,
    so a template directory's render never imports what reads repositories."""
    return ref is not None or ":" in source or source.endswith(".git") or (
        Path(source, ".git").exists())


def _tool_clones(lp: Launchpad, path: Path, format: str | None) -> bool:
    """Whether the tool of the local repository ``path`` renders its newest tag or a clone
    of its working tree, submodules included (Copier) rather than its working tree as it
    is (Cookiecutter, LaunchPad's own format)."""
    if format is not None or not path.is_dir():
        return format == "copier"
    from ..importers.importing import detect_importer
    from ..sources.loading import DIRECTORY_DEFINITIONS

    if any((path / name).is_file() for name in DIRECTORY_DEFINITIONS):
        return False
    importer = detect_importer(path, launchpad=lp)
    return importer is not None and importer.name == "copier"


def _with_source(args: argparse.Namespace, lp: Launchpad, template: Template) -> Template:
    from ..importers.importing import with_source

    return with_source(template, args.source, vcs_ref=args.vcs_ref, launchpad=lp)


def _stating_skipped(template: Template) -> Template:
    """``template`` once its skipped tasks and the importer's warnings are on stderr."""
    from ..importers.importing import load_warnings, skipped_tasks

    for warning in load_warnings(template):
        print(f"launchpad: warning: {warning}", file=sys.stderr)
    skipped = skipped_tasks(template)
    if skipped:
        print(f"launchpad: skipped {_count(len(skipped), 'task')} (--skip-tasks): "
              f"{'; '.join(skipped)}", file=sys.stderr)
    return template


def _seconds(text: str) -> float:
    """A positive, finite number of seconds (argparse reports the error)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _launchpad(
    pm: pluggy.PluginManager,
    settings: CoreSettings,
    *,
    service_cache: Path | None = None,
    cache_bytes: int | None = None,
) -> Launchpad:
    """The :class:`Launchpad` a command runs with (``args.launchpad(...)``).

    A CLI command's keeps compiled code and imported templates in the CLI's cache
    folder and compiles large templates on every core (a CLI run may fork). A
    service command (``launchpad serve``, ``launchpad worker``) passes its
    ``service_cache`` folder (in its data directory): compiled code goes there,
    nothing into the CLI's cache, and it compiles in-process (a threaded server
    never forks). ``cache_bytes`` bounds the compiled code kept on disk.
    """
    from ..launchpad import Launchpad
    from ..render.compile_cache import DEFAULT_MAX_BYTES

    bound = DEFAULT_MAX_BYTES if cache_bytes is None else cache_bytes
    if service_cache is not None:
        return Launchpad(plugin_manager=pm, bytecode_cache_dir=service_cache,
                         bytecode_cache_bytes=bound)
    cache = settings.cache_dir
    if cache:
        from ..plugins.manager import keep_entry_points

        keep_entry_points(pm)
    return Launchpad(
        plugin_manager=pm,
        bytecode_cache_dir=cache / "jinja" if cache else None,
        bytecode_cache_bytes=bound,
        import_cache_dir=cache / "imports" if cache else None,
        compile_workers=len(os.sched_getaffinity(0)),
    )


def _render(args: argparse.Namespace) -> int:
    from ..importers.importing import with_destination
    from ..render.sink_formats import make_sink

    args.format = args.format or format_of(args.dest)
    lp = args.launchpad()
    template = _load(args, lp, record_origin=True)
    if args.format == "dir":
        template = with_destination(template, args.dest, launchpad=lp)
    answers = resolve_interactively(lp, template, args)
    template, answers = _tasks_before(args, lp, template, answers)
    progress = _progress_bar() if len(template.files) >= PROGRESS_FROM and not args.quiet else None
    files = lp.render(template, answers, trusted=args.trust, progress=progress)
    report = write_files(make_sink(args.format, Path(args.dest), overwrite=args.force), files)
    _run_tasks(args, lp, template, answers, "after")
    if not args.quiet:
        skipped = f", kept {len(report.skipped)} existing" if report.skipped else ""
        done = f"Wrote {_count(len(report.written), 'file')} to {args.dest}{skipped}."
        print(palette(sys.stdout, setting=args.settings.colour).success(done))
    return 0


def format_of(dest: str) -> str:
    """The output format DEST's name implies: zip, tar.gz, or a directory."""
    name = dest.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".tar.gz", ".tgz")):
        return "tar.gz"
    return "dir"


def _tasks_before(args: argparse.Namespace, lp: Launchpad, template: Template,
                  answers: Answers) -> tuple[Template, Answers]:
    """Run the ``before`` tasks (directory output only): they may change the answers."""
    if args.format != "dir" or not template.settings.tasks:
        return template, answers
    from ..importers.template_tasks import run_tasks_before

    return run_tasks_before(template, answers, args.dest, trusted=args.trust, launchpad=lp)


def _run_tasks(args: argparse.Namespace, lp: Launchpad, template: Template, answers: Answers,
               stage: str) -> None:
    if args.format == "dir" and template.settings.tasks:
        from ..importers.template_tasks import run_tasks

        run_tasks(template, answers, args.dest, stage=stage, trusted=args.trust, launchpad=lp)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _progress_bar() -> Callable[[int, int, str, int], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int, _path: str, _size: int) -> None:
        width = 30
        filled = width * done // total
        end = "\n" if done == total else ""
        print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files",
              end=end, file=sys.stderr, flush=True)

    return show


def _import(args: argparse.Namespace) -> int:
    from ..importers.importing import import_template, portable
    from ..sources.loading import write_definition

    folder = args.output.parent
    if not folder.is_dir():
        raise LaunchpadError(f"cannot write {args.output}: the folder {folder} does not exist")
    lp = args.launchpad()
    with _resolved(args, lp, args.format) as path:
        template = import_template(path, args.format, trusted=args.trust,
                                   skip_tasks=_skipping(args), launchpad=lp)
    template = _stating_skipped(_with_source(args, lp, template))
    write_definition(portable(template), args.output)
    print(f"Imported {args.source} ({_count(len(template.variables), 'variable')}, "
          f"{_count(len(template.files), 'file')}) to {args.output}.")
    return 0


def _validate(args: argparse.Namespace) -> int:
    template = _load(args, args.launchpad())
    print(f"{args.source}: valid ({_count(len(template.variables), 'variable')}, "
          f"{_count(len(template.files), 'file')})")
    return 0


def _schema(args: argparse.Namespace) -> int:
    from ..model.schema import definition_schema

    schema = definition_schema(args.launchpad().types)
    print(json.dumps(schema, indent=2))
    return 0


def _daemon(args: argparse.Namespace) -> int:
    from . import daemon

    cache_dir = CoreSettings.from_env().cache_dir
    if cache_dir is None:
        raise LaunchpadError("the daemon needs the cache (LAUNCHPAD_NO_CACHE is set)")
    try:
        running = daemon.status(cache_dir) if args.action == "start" else None
        if running:
            print(f"LaunchPad daemon already running (pid {running}).")
        elif args.action == "start":
            pid = daemon.start(cache_dir, idle_seconds=args.idle_timeout)
            print(f"LaunchPad daemon started (pid {pid}); `launchpad daemon stop` stops it.")
        elif args.action == "stop":
            print("LaunchPad daemon stopped." if daemon.stop(cache_dir) else "No daemon runs.")
        else:
            pid = daemon.status(cache_dir)
            print(f"LaunchPad daemon running (pid {pid})." if pid else "No daemon runs.")
    except daemon.DaemonError as exc:
        raise LaunchpadError(str(exc)) from exc
    return 0


def _completion(args: argparse.Namespace) -> int:
    import shtab

    print(shtab.complete(args.parser, shell=args.shell))
    return 0


def _plugins(args: argparse.Namespace) -> int:
    for name, hooks in args.launchpad().hooks.plugins():
        print(f"{name}: {', '.join(hooks)}")
    return 0


#: Commands after which the process ends without the interpreter's teardown.
_QUICK_EXIT = frozenset({"render", "validate", "import"})


def exit_after(argv: Sequence[str], status: int) -> NoReturn:
    """End the process with ``status`` as ``sys.exit`` would; after the commands a cold
    start matters for (:data:`_QUICK_EXIT`), without the interpreter's teardown (freeing
    every module and object: a tenth of a cold render's CPU).

    The console script runs those commands without the cycle collector (:func:`main`
    turns it on for every other command): collections during the start-up's imports
    cost a cold render 4 ms, and a render of 2,000 files holds 2 MB more without it.

    Exit handlers run and the output is flushed first; while a thread that is no daemon
    still runs, the process ends the usual way, which waits for it."""
    import atexit
    import threading

    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if _named_command(argv) not in _QUICK_EXIT or any(not t.daemon for t in others):
        sys.exit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: Python's own exit says 120
            status = status or 120
    os._exit(status)


if __name__ == "__main__":
    gc.disable()
    exit_after(sys.argv[1:], main())
