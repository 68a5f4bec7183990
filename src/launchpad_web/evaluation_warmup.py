"""Imported once in the evaluators' fork server, before any evaluator is forked.

Loading the plugins and building a first Jinja environment take tens of
milliseconds; done here, once, every evaluator child (one per call, see
:mod:`launchpad_web.evaluation`) inherits them instead of paying per call.
"""

from __future__ import annotations

from launchpad_core import default_launchpad
from launchpad_core.isolation import hosted
from launchpad_core.model.serialization import structure_template

WARM_UP = {
    "name": "warm-up",
    "variables": [{"name": "name", "type": "str", "default": "{{ 'x' | upper }}"}],
    "files": [{"path": "{{ name }}/a.txt", "content": "{% if name %}{{ name }}{% endif %}"}],
}

default_launchpad()
hosted.rendered_files(structure_template(WARM_UP), {})
