"""Every hook LaunchPad defines, in one module.

Plugins implement them with ``@launchpad_core.hookimpl`` and register through
the ``launchpad`` entry-point group. Built-in behaviour (variable types,
importers, the free billing provider) is registered through the same hooks.
Hooks are always called with keyword arguments, through the typed wrapper in
:mod:`launchpad_core.plugins.manager`. Each hook has a section in ``docs/plugins.md``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from ..importers.importing import TemplateImporter
    from ..model.answers import Answers
    from ..model.template import Template
    from ..model.variables import VariableType
    from .billing import BillingProvider
    from .forges import Forge
    from .generators import FileGenerator

PROJECT = "launchpad"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def launchpad_variable_types() -> list[VariableType]:
    """Contribute variable types (their name, coercion and JSON Schema).

    :return: a list of :class:`launchpad_core.model.variables.VariableType`. A name
        given by two plugins is an error at start-up.
    """


@hookspec
def launchpad_jinja_filters() -> Mapping[str, Callable[..., Any]]:
    """Contribute Jinja filters available to every template.

    Filters run inside the sandbox on plain data; they must not touch the file
    system, the network or server objects.

    :return: a mapping of filter name to callable.
    """


@hookspec
def launchpad_jinja_globals() -> Mapping[str, Any]:
    """Contribute Jinja globals (functions or constants) available to every template.

    :return: a mapping of name to value; values must be plain data or pure functions.
    """


@hookspec
def launchpad_file_generators() -> list[FileGenerator]:
    """Contribute file generators (LICENSE from an SPDX id, .gitignore, CI ...).

    A template asks for a generator by name in ``settings.generators``; the
    generator then adds files for the given answers.

    :return: a list of :class:`launchpad_core.plugins.generators.FileGenerator`.
    """


@hookspec
def launchpad_template_importers() -> list[TemplateImporter]:
    """Contribute importers that turn a foreign template (Copier, Cookiecutter ...)
    into a LaunchPad :class:`~launchpad_core.model.template.Template`.

    :return: a list of :class:`launchpad_core.importers.importing.TemplateImporter`.
    """


@hookspec
def launchpad_render_context(template: Template, answers: Answers) -> Mapping[str, Any] | None:
    """Add plain-data values to the render context of one render.

    :param template: the template being rendered.
    :param answers: the resolved answers.
    :return: a mapping merged into the context (answers win on a clash), or None.
    """


@hookspec(firstresult=True)
def launchpad_billing_provider(settings: Mapping[str, Any]) -> BillingProvider | None:
    """Pick the billing provider for this installation.

    :param settings: the service's billing settings (keys, plan ids ...).
    :return: a provider, or None to let the next plugin (finally the built-in
        free-only provider) decide.
    """


@hookspec
def launchpad_forges(settings: Mapping[str, Mapping[str, str]]) -> list[Forge]:
    """Contribute the git forges (GitHub, GitLab ...) people sign in with and publish to.

    Every implementation is called; a forge whose settings are missing (no OAuth
    client id) is left out by returning an empty list.

    :param settings: each forge's settings by forge name, from the service's
        ``LAUNCHPAD_FORGE_<NAME>_<KEY>`` variables (``{"github": {"client_id": ...,
        "client_secret": ..., "url": ..., "api_url": ...}}``).
    :return: a list of :class:`launchpad_core.plugins.forges.Forge`. A name given by two
        plugins is an error at start-up.
    """


@hookspec
def launchpad_register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add sub-commands to the ``launchpad`` command line.

    The web service adds ``serve`` and ``db``, the worker adds ``worker``.
    Each added parser sets ``handler=callable(args) -> int`` with
    ``set_defaults``; errors derived from ``LaunchpadError`` are reported by
    the CLI like its own.

    :param subparsers: the ``argparse`` sub-parsers object of ``launchpad``.
    """


@hookspec
def launchpad_notify(
    kind: str,
    recipient: str,
    subject: str,
    message: str,
    settings: Mapping[str, Any],
) -> None:
    """Tell a user, outside the app, that something happened (email, chat ...).

    Called after a generation job completed or failed, once its in-app event is
    stored, when a team invites an email address and when someone asks for a
    password-reset link (only when SMTP is set up); every implementation is
    called. The built-in one sends an email when SMTP settings are given. An
    exception is logged and changes nothing else.

    :param kind: what happened: ``job_completed``, ``job_failed``, ``team_invitation`` or
        ``password_reset`` (a one-time link to choose a new password).
    :param recipient: the user's (or the invited) email address.
    :param subject: a one-line summary.
    :param message: the text to send, with a link to the job (never holds secret
        answers) or the invitation's or password reset's one-time link.
    :param settings: the service's notification settings (``host``, ``port``,
        ``username``, ``password``, ``sender``, ``starttls`` of the SMTP server).
    """
