"""Imported once in the render children's fork server, before any child is forked.

Loading the plugins and building a first Jinja environment (its lexer, the
sandbox's compiled checks) take tens of milliseconds; done here, once, every
render child inherits them instead of paying again per job.
:func:`use_preload` asks for this module to be preloaded; call it before the
first isolated run of the process.
"""

from __future__ import annotations

import tempfile

from launchpad_core import default_launchpad
from launchpad_core.isolation.children import preload
from launchpad_web.jobs.archives import FORMATS

from . import render

WARM_UP = {
    "name": "warm-up",
    "variables": [{"name": "name", "type": "str", "default": "x"}],
    "files": [{"path": "{{ name }}/a.txt",
               "content": "{% if name %}{{ name | upper }}{% endif %}"}],
}

default_launchpad()
with tempfile.TemporaryDirectory() as _warm:
    render.render_archive(WARM_UP, {}, {}, {FORMATS[0]: f"{_warm}/a.{FORMATS[0]}"})


def use_preload() -> None:
    # Added to the isolation module's list, which previews add to as well.
    preload(__name__)
