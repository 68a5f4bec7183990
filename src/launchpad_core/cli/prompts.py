"""Answers on the command line: ``-d``, ``--answers-file``, and questions asked on a terminal."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..config import CoreSettings
from ..errors import LaunchpadError
from .colour import palette

if TYPE_CHECKING:
    from ..launchpad import Launchpad
    from ..model.answers import Answers
    from ..model.template import Template, Variable
    from ..model.variables import VariableType


class InputEndedError(Exception):
    """The terminal's input ended during a question: not a problem of one answer
    (which answer resolution would collect and ask past), so no LaunchpadError."""


def resolve_interactively(lp: Launchpad, template: Template, args: argparse.Namespace) -> Answers:
    """Answers from -d and --answers-file; what is missing is asked on a terminal."""
    interactive = sys.stdin.isatty() and not args.defaults
    return lp.resolve_answers(
        template, given_answers(args), from_text=True, use_defaults=not interactive,
        ask=ask if interactive else None,
    )


def given_answers(args: argparse.Namespace) -> dict[str, Any]:
    given: dict[str, Any] = {}
    if args.answers_file:
        from ..sources.loading import read_data

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


def ask(var: Variable, kind: VariableType, default: Any, *, problem: str | None = None) -> str:
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
        if var.secret:
            import getpass  # with termios, only for a secret asked on a terminal

            reply = getpass.getpass(prompt)
        else:
            reply = input(prompt)
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
