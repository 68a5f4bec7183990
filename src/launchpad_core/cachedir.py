"""Where the CLI keeps its caches and its daemon's socket, from the environment.

Dependency-free on purpose: the ``launchpad`` launcher reads it before it
decides whether to import anything else (:mod:`launchpad_core.cli.launcher`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def cache_dir_from_env(env: Mapping[str, str]) -> Path | None:
    """``LAUNCHPAD_CACHE_DIR``, else ``$XDG_CACHE_HOME/launchpad`` or ``~/.cache/launchpad``;
    None when ``LAUNCHPAD_NO_CACHE`` is set."""
    if env.get("LAUNCHPAD_NO_CACHE", "") in ("1", "true", "yes"):
        return None
    return Path(env.get("LAUNCHPAD_CACHE_DIR") or os.path.join(
        env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "launchpad",
    ))
