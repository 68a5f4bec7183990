"""The core's settings, read from documented environment variables, in one place.

* ``LAUNCHPAD_PLUGINS``: comma-separated entry-point names to load (default: all;
  empty string: none).
* ``LAUNCHPAD_CACHE_DIR``: where the CLI keeps compiled templates (``jinja/``,
  at most 256 MiB, least recently used out first) and imported Copier and
  Cookiecutter templates (``imports/``) (default ``$XDG_CACHE_HOME/launchpad``
  or ``~/.cache/launchpad``). The service never uses it (see ``launchpad_web.settings``).
* ``LAUNCHPAD_NO_CACHE``: set to 1 to render without the on-disk cache.
* ``LAUNCHPAD_NO_DAEMON``: set to 1 to never hand a command to the render daemon
  (:mod:`launchpad_core.cli.daemon`).
* ``LAUNCHPAD_CONFIG_DIR``: where ``launchpad login`` keeps the hosted service's URL
  and API token (default ``$XDG_CONFIG_HOME/launchpad`` or ``~/.config/launchpad``).
* ``LAUNCHPAD_GH_URL``, ``LAUNCHPAD_GL_URL``: where the ``gh:`` and ``gl:`` shorthands of
  template repositories point (default ``https://github.com`` and ``https://gitlab.com``;
  a GitHub Enterprise or self-managed GitLab, or a test server).
* ``NO_COLOR`` (any non-empty value): no colour on the terminal (https://no-color.org);
  ``FORCE_COLOR`` (non-empty): colour even when the output is not a terminal;
  ``TERM=dumb``: no colour unless forced.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import attrs

from .cachedir import cache_dir_from_env

#: ``gh:owner/name`` and ``gl:group/name``, as Copier expands them.
DEFAULT_GIT_HOSTS = {"gh": "https://github.com", "gl": "https://gitlab.com"}


@attrs.frozen
class CoreSettings:
    plugins: frozenset[str] | None = None
    cache_dir: Path | None = None
    config_dir: Path | None = None
    #: True or False when NO_COLOR or FORCE_COLOR decide; None: colour on terminals.
    colour: bool | None = None
    #: The base URL of each repository shorthand (``gh``, ``gl``):
    #: :mod:`launchpad_core.sources.repositories`.
    git_hosts: Mapping[str, str] = attrs.field(factory=lambda: dict(DEFAULT_GIT_HOSTS))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CoreSettings:
        env = os.environ if environ is None else environ
        plugins = env.get("LAUNCHPAD_PLUGINS")
        only = None
        if plugins is not None:
            only = frozenset(p.strip() for p in plugins.split(",") if p.strip())
        colour = None
        if env.get("NO_COLOR") or (env.get("TERM") == "dumb" and not env.get("FORCE_COLOR")):
            colour = False
        elif env.get("FORCE_COLOR"):
            colour = True
        config_dir = Path(env.get("LAUNCHPAD_CONFIG_DIR") or os.path.join(
            env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config"),
            "launchpad",
        ))
        hosts = {
            name: env.get(f"LAUNCHPAD_{name.upper()}_URL") or default
            for name, default in DEFAULT_GIT_HOSTS.items()
        }
        return cls(plugins=only, cache_dir=cache_dir_from_env(env), config_dir=config_dir,
                   colour=colour, git_hosts=hosts)
