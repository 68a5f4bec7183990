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
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from . import __version__
from .cli_hosted import hosted_commands
from .cli_update import update_commands
from .colour import palette
from .config import CoreSettings
from .errors import DestinationExistsError, LaunchpadError, LoadError, ProblemsError
from .plugins import Hooks, make_plugin_manager

if TYPE_CHECKING:
    from .model.answers import Answers
    from .model.output import RenderedFile
    from .model.template import Template, Variable
    from .runtime import Launchpad
    from .sinks import Sink, WriteReport
    from .variables import VariableType

SOURCE_HELP = ("definition file, template directory, or Git repository: gh:owner/name, "
               "gl:group/name, a URL or a local repository")
PROGRESS_FROM = 200  # files; smaller renders finish before a bar is worth drawing


class InputEndedError(Exception):
    """The terminal's input ended during a question: not a problem of one answer
    (which answer resolution would collect and ask past), so no LaunchpadError."""


def main(argv: Sequence[str] | None = None) -> int:
    settings = CoreSettings.from_env()
    err = palette(sys.stderr, setting=settings.colour)
    try:
        pm = make_plugin_manager(only=settings.plugins, cache_dir=settings.cache_dir)
        parser = _parser(pm)
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


def _parser(pm: pluggy.PluginManager) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="launchpad", description="LaunchPad: render project templates, safely."
    )
    parser.add_argument("--version", action="version", version=f"launchpad {__version__}")
    parser.set_defaults(handler=None)
    sub = parser.add_subparsers(metavar="COMMAND")

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
    (:func:`~launchpad_core.loading.with_git_origin`), for ``launchpad update``."""
    with _resolved(args, lp, args.template_format) as path:
        template = lp.load(path, trusted=args.trust, skip_tasks=_skipping(args),
                           format=args.template_format)
        if record_origin:
            from .loading import with_git_origin

            local = Path(args.source)
            source = str(local.resolve()) if local.is_dir() else args.source
            template = with_git_origin(template, path, source=source)
    return _stating_skipped(_with_source(args, lp, template))


@contextlib.contextmanager
def _resolved(args: argparse.Namespace, lp: Launchpad, format: str | None) -> Iterator[Path]:
    """The directory (or file) to load ``args.source`` from: a Git repository's checkout
    (:mod:`launchpad_core.sources`), in the cache or, without one, a folder removed after.
    Errors of loading it name the source as given, not the checkout."""
    source = Path(args.source)
    if not _maybe_git(args.source, args.vcs_ref):
        yield source
        return
    from .sources import cache_or_temporary, resolve_source

    with cache_or_temporary(args.settings.cache_dir) as cache:
        resolved = resolve_source(
            args.source, args.vcs_ref, cache_dir=cache, hosts=args.settings.git_hosts,
            prereleases=args.prereleases, local_checkout=_tool_clones(lp, source, format))
        for warning in resolved.warnings:
            print(f"launchpad: warning: {warning}", file=sys.stderr)
        try:
            yield resolved.path
        except LoadError as exc:
            exc.message = exc.message.replace(str(resolved.path), args.source)
            raise


def _maybe_git(source: str, ref: str | None) -> bool:
    """Whether ``source`` may be a Git repository (the rest is for :mod:`.sources`): cheap,
    so a template directory's render never imports what reads repositories."""
    return ref is not None or ":" in source or source.endswith(".git") or (
        Path(source, ".git").exists())


def _tool_clones(lp: Launchpad, path: Path, format: str | None) -> bool:
    """Whether the tool of the local repository ``path`` renders its newest tag (Copier
    clones and checks it out) rather than its working tree as it is (Cookiecutter,
    LaunchPad's own format)."""
    if format is not None or not path.is_dir():
        return format == "copier"
    from .importing import detect_importer
    from .loading import DIRECTORY_DEFINITIONS

    if any((path / name).is_file() for name in DIRECTORY_DEFINITIONS):
        return False
    importer = detect_importer(path, launchpad=lp)
    return importer is not None and importer.name == "copier"


def _with_source(args: argparse.Namespace, lp: Launchpad, template: Template) -> Template:
    from .importing import with_source

    return with_source(template, args.source, vcs_ref=args.vcs_ref, launchpad=lp)


def _stating_skipped(template: Template) -> Template:
    """``template`` once its skipped tasks and the importer's warnings are on stderr."""
    from .importing import load_warnings, skipped_tasks

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
    from .compile_cache import DEFAULT_MAX_BYTES
    from .runtime import Launchpad

    bound = DEFAULT_MAX_BYTES if cache_bytes is None else cache_bytes
    if service_cache is not None:
        return Launchpad(plugin_manager=pm, bytecode_cache_dir=service_cache,
                         bytecode_cache_bytes=bound)
    cache = settings.cache_dir
    if cache:
        from .plugins import keep_entry_points

        keep_entry_points(pm)
    return Launchpad(
        plugin_manager=pm,
        bytecode_cache_dir=cache / "jinja" if cache else None,
        bytecode_cache_bytes=bound,
        import_cache_dir=cache / "imports" if cache else None,
        compile_workers=len(os.sched_getaffinity(0)),
    )


def _render(args: argparse.Namespace) -> int:
    from .importing import with_destination
    from .sinks import make_sink

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


def write_files(sink: Sink, files: list[RenderedFile]) -> WriteReport:
    try:
        return sink.write(files)
    except DestinationExistsError as exc:
        raise DestinationExistsError(f"{exc.message}; add --force to overwrite") from None


def resolve_interactively(lp: Launchpad, template: Template, args: argparse.Namespace) -> Answers:
    """Answers from -d and --answers-file; what is missing is asked on a terminal."""
    interactive = sys.stdin.isatty() and not args.defaults
    return lp.resolve_answers(
        template, _given_answers(args), from_text=True, use_defaults=not interactive,
        ask=_ask if interactive else None,
    )


def _tasks_before(args: argparse.Namespace, lp: Launchpad, template: Template,
                  answers: Answers) -> tuple[Template, Answers]:
    """Run the ``before`` tasks (directory output only): they may change the answers."""
    if args.format != "dir" or not template.settings.tasks:
        return template, answers
    from .tasks import run_tasks_before

    return run_tasks_before(template, answers, args.dest, trusted=args.trust, launchpad=lp)


def _run_tasks(args: argparse.Namespace, lp: Launchpad, template: Template, answers: Answers,
               stage: str) -> None:
    if args.format == "dir" and template.settings.tasks:
        from .tasks import run_tasks

        run_tasks(template, answers, args.dest, stage=stage, trusted=args.trust, launchpad=lp)


def _given_answers(args: argparse.Namespace) -> dict[str, Any]:
    given: dict[str, Any] = {}
    if args.answers_file:
        from .loading import read_data

        data = read_data(args.answers_file, 16 * 1024 * 1024)
        if not isinstance(data, dict):
            raise LaunchpadError(f"{args.answers_file} must hold a mapping of answers")
        # Files carry typed values; the CLI treats every answer as text to coerce.
        given.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()})
    given.update(parse_data(args.data))
    return given


def parse_data(items: Sequence[str]) -> dict[str, str]:
    """``-d KEY=VALUE`` options as answers (text)."""
    given = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise LaunchpadError(f"-d takes KEY=VALUE, got {item!r}")
        given[key.strip()] = value
    return given


def _ask(var: Variable, kind: VariableType, default: Any, *, problem: str | None = None) -> str:
    """Ask one question on the terminal; an empty reply takes the default.

    ``problem`` is why the previous reply was refused: shown before asking again.
    Choices are numbered; a reply may give numbers or values (several, comma-separated,
    for a multichoice).
    """
    colours = palette(sys.stderr, setting=CoreSettings.from_env().colour)
    if problem:
        print(f"  {colours.warning(problem)}", file=sys.stderr)
    elif var.choices:
        for number, choice in enumerate(var.choices, start=1):
            print(f"  {number}) {choice.display}", file=sys.stderr)
    shown = "" if default is None or var.secret else f" [{_shown(var, kind, default)}]"
    prompt = f"{colours.strong(var.help or var.name)}{shown}: "
    try:
        reply = getpass.getpass(prompt) if var.secret else input(prompt)
    except EOFError:
        raise InputEndedError(f"no answer for {var.name}: the input ended") from None
    if not reply and default is not None:
        return kind.to_text(default)
    if var.type == "multichoice":
        return _choices_by_number(var, reply)
    return _choice_by_number(var, reply)


def _shown(var: Variable, kind: VariableType, default: Any) -> str:
    """A default as a person reads it: a multichoice's picks by their labels."""
    if var.type == "multichoice" and isinstance(default, list):
        labels = {json.dumps(c.value): c.display for c in var.choices}
        return ", ".join(labels.get(json.dumps(v), str(v)) for v in default)
    return kind.to_text(default)


def _choice_by_number(var: Variable, reply: str) -> str:
    if var.choices and reply.strip().isdigit():
        index = int(reply) - 1
        if 0 <= index < len(var.choices):
            return str(var.choices[index].value)
    return reply


def _choices_by_number(var: Variable, reply: str) -> str:
    """``1,3``, ``1 3``, ``cli, web`` or a JSON list: the picks as a JSON list of texts."""
    if reply.strip().startswith("["):
        return reply
    parts = [p.strip() for p in reply.split(",") if p.strip()]
    if len(parts) == 1 and all(word.isdigit() for word in parts[0].split()):
        parts = parts[0].split()
    return json.dumps([_choice_by_number(var, part) for part in parts])


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
    from .importing import import_template, portable
    from .loading import write_definition

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
    from .schema import definition_schema

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


if __name__ == "__main__":
    sys.exit(main())
