"""A generate form's questions: which widget shows each variable, and its value.

Typed inputs per variable type: ``int``/``float`` number fields, ``bool`` a
checkbox, ``choice`` radio buttons (a select beyond five choices),
``multichoice`` checkboxes, ``json`` a text area, ``secret`` a masked field,
anything else (plugin types) a text field. A default that is Jinja over earlier
answers is not shown as a value: the field is left empty and the core computes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from launchpad_core.model.template import Template, Variable
from launchpad_core.model.variables import TRUE_WORDS

RADIO_MAX = 5
NUMBER_STEPS = {"int": "1", "float": "any"}


@attrs.frozen
class Question:
    name: str
    type: str
    widget: str
    help: str
    value: str = ""
    selected: tuple[str, ...] = ()
    choices: tuple[tuple[str, str], ...] = ()
    step: str | None = None
    derived: bool = False
    when: str | None = None


def questions(template: Template, given: Mapping[str, list[str]] | None = None) -> list[Question]:
    """One question per variable; ``given``: what was typed, after an error."""
    markers = template.settings.envops.markers
    return [_question(var, markers, (given or {}).get(var.name)) for var in template.variables]


def _question(var: Variable, markers: tuple[str, ...], given: list[str] | None) -> Question:
    derived = isinstance(var.default, str) and any(m in var.default for m in markers)
    shown = [] if derived or var.default is None else _texts(var)
    values = given if given is not None else shown
    when = None if var.when is True else str(var.when)
    common = {"name": var.name, "type": var.type, "help": var.help, "derived": derived,
              "when": when, "value": values[-1] if values else "", "selected": tuple(values)}
    choices = tuple((_choice_text(c.value), c.display) for c in var.choices)
    match var.type:
        case "bool":
            on = bool(values) and values[-1].strip().lower() in TRUE_WORDS
            checked = ("true",) if on else ()
            return Question(widget="checkbox", **{**common, "selected": checked})
        case "choice":
            widget = "radio" if len(choices) <= RADIO_MAX else "select"
            return Question(widget=widget, choices=choices, **common)
        case "multichoice":
            return Question(widget="checkboxes", choices=choices, **common)
        case "int" | "float":
            return Question(widget="number", step=NUMBER_STEPS[var.type], **common)
        case "json":
            return Question(widget="textarea", **common)
    return Question(widget="password" if var.secret else "text",
                    **{**common, "value": "" if var.secret else common["value"]})


def _texts(var: Variable) -> list[str]:
    """The default as the form's text: what the type's ``coerce`` reads back."""
    if var.type == "multichoice" and isinstance(var.default, list):
        return [_choice_text(v) for v in var.default]
    if isinstance(var.default, bool):
        return ["true" if var.default else "false"]
    if isinstance(var.default, dict | list):
        return [json.dumps(var.default)]
    return [_choice_text(var.default)]


def _choice_text(value: Any) -> str:
    """A choice as text: the core matches ``str(value)`` when answers are text."""
    return value if isinstance(value, str) else str(value)
