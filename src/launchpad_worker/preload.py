"""Imported once in the render children's fork server, before any child is forked.

Loading the plugins and building a first Jinja environment (its lexer, the
sandbox's compiled checks) take tens of milliseconds; done here, once, every
render child inherits them instead of paying again per job.
:func:`use_preload` asks for this module to be preloaded; call it before the
first isolated run of the process.
"""

from __future__ import annotations

from launchpad_core import default_launchpad
from launchpad_core.isolation import preload

from . import render

WARM_UP = {
    "name": "warm-up",
    "variables": [{"name": "name", "type": "str", "default": "x"}],
    "files": [{"path": "{{ name }}/a.txt",
               "content": "{% if name %}{{ name | upper }}{% endif %}"}],
}

default_launchpad()
render.render_archive(WARM_UP, {}, {})


def use_preload() -> None:
    # launchpad_core.cli: every child re-runs the ``launchpad`` script as its main
    # module (multiprocessing does), which imports it. Added to the isolation
    # module's list, which previews add to as well.
    preload("launchpad_core.cli", __name__)
