"""Every `launchpad` command loads all plugins first: their entry points must import lightly.

`launchpad render` should not pay for the web stack. Entry-point modules register
their hooks and import heavy libraries inside the functions that use them.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "falcon", "waitress", "psycopg", "huey", "redis", "stripe")

PROBE = f"""
import sys
from launchpad_core.plugins import make_plugin_manager
pm = make_plugin_manager()
assert pm.list_name_plugin(), "no plugins loaded"
print(",".join(m for m in {HEAVY!r} if m in sys.modules))
"""


def test_loading_every_plugin_imports_no_server_library() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "", f"imported at start-up: {result.stdout.strip()}"
