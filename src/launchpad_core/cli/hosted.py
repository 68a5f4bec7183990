"""``launchpad login``, ``push`` and ``generate``: the command line of the hosted service.

Handlers only parse, call :mod:`launchpad_core.cli.client` and print; errors are
:class:`~launchpad_core.errors.LaunchpadError` subclasses, which
:func:`launchpad_core.cli.main` turns into one line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import LaunchpadError


def hosted_commands(sub: argparse._SubParsersAction) -> None:
    login = sub.add_parser("login", help="sign in to a hosted LaunchPad and keep an API token")
    login.add_argument("url", help="the service, e.g. https://launchpad.example.org")
    login.add_argument("--email", help="the account's email (asked if left out)")
    login.add_argument("--token", help="an API token made on the web instead of a password")
    login.set_defaults(handler=_login)

    push = sub.add_parser("push", help="upload a template directory as a new hosted version")
    push.add_argument("source", help="template directory (or definition file)")
    push.add_argument("--id", dest="template_id",
                      help="the hosted template to update (default: the one of the same name)")
    push.set_defaults(handler=_push)

    generate = sub.add_parser("generate", help="generate a project on the hosted service")
    generate.add_argument("template", help="hosted template: its id or its name")
    generate.add_argument("dest", help="directory to unpack the project into")
    generate.add_argument("-d", "--data", action="append", default=[], metavar="KEY=VALUE",
                          help="an answer (repeatable)")
    generate.add_argument("--answers-file", type=Path, help="answers from a YAML or JSON file")
    generate.add_argument("--defaults", action="store_true",
                          help="take defaults for every unanswered variable, never ask")
    generate.add_argument("--force", action="store_true", help="overwrite existing files")
    generate.add_argument("--timeout", type=float, default=600, metavar="SECONDS",
                          help="give up waiting for the job after this long (600)")
    generate.add_argument("--quiet", "-q", action="store_true")
    generate.set_defaults(handler=_generate)


def _login(args: argparse.Namespace) -> int:
    from .client import Credentials, HostedClient

    client = HostedClient(args.url, token=args.token)
    if args.token:
        user = client.me()  # checks the token before keeping it
        token = args.token
    else:
        import getpass
        import socket

        email = args.email or _read("Email: ", input)
        password = _read("Password: ", getpass.getpass)
        token = client.create_token(email, password,
                                    name=f"launchpad CLI on {socket.gethostname()}"[:100])
        user = HostedClient(client.url, token=token).me()
    path = Credentials(url=client.url, token=token).write(args.settings.config_dir)
    print(f"Logged in to {client.url} as {user['email']}; the token is in {path}.")
    return 0


def _read(prompt: str, read: Any) -> str:
    try:
        return read(prompt)
    except EOFError:
        raise LaunchpadError(f"no answer for {prompt.rstrip(': ')}: the input ended") from None


def _client(args: argparse.Namespace) -> Any:
    from .client import Credentials, HostedClient

    credentials = Credentials.read(args.settings.config_dir)
    return HostedClient(credentials.url, token=credentials.token)


def _push(args: argparse.Namespace) -> int:
    from ..importers.importing import portable

    lp = args.launchpad()
    template = portable(lp.load(args.source))
    client = _client(args)
    saved, created = client.push(template.name, lp.unstructure(template),
                                 template_id=args.template_id)
    what = "Created" if created else "Updated"
    print(f"{what} {saved['name']} (id {saved['id']}) at version {saved['version']}.")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from ..render.sink_formats import make_sink
    from .client import archive_files
    from .prompts import resolve_interactively
    from .writing import write_files

    client = _client(args)
    hosted = client.find_template(args.template)
    lp = args.launchpad()
    template = lp.structure(hosted["definition"])
    answers = resolve_interactively(lp, template, args)
    given = {k: v for k, v in answers.values.items() if k not in answers.skipped}
    job = client.generate(hosted["id"], given)
    job = client.wait(job, timeout=args.timeout,
                      progress=None if args.quiet else _show_step)
    if job["status"] != "completed":
        raise LaunchpadError(f"the job failed: {job.get('error') or 'no reason given'}")
    files = archive_files(client.download(job["id"]))
    report = write_files(make_sink("dir", Path(args.dest), overwrite=args.force), files)
    if not args.quiet:
        print(f"Wrote {len(report.written)} file(s) of {hosted['name']} "
              f"v{job['template_version']} to {args.dest}.")
    return 0


def _show_step(step: dict[str, Any]) -> None:
    print(f"  {step.get('step', '')}: {step.get('message', '')}", file=sys.stderr)
