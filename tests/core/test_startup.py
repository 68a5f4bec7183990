"""Every `launchpad` command loads all plugins first: their entry points must import lightly.

`launchpad render` should not pay for the web stack. Entry-point modules register
their hooks and import heavy libraries inside the functions that use them.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "falcon", "waitress", "psycopg", "huey", "redis", "stripe",
         "smtplib", "ssl")

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


#: Libraries a warm ``launchpad render`` of a cached import never calls.
NOT_AT_START = ("yaml", "pathspec", "cattrs", "multiprocessing", "slugify", "binaryornot",
                "tarfile", "launchpad_core.serialization", "launchpad_core.tasks")


def _imported(code: str, names: tuple[str, ...]) -> list[str]:
    probe = f"import sys\n{code}\nprint(','.join(m for m in {names!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return [m for m in result.stdout.strip().split(",") if m]


def test_the_cli_module_imports_no_engine_before_a_command_runs() -> None:
    heavy = ("jinja2", "launchpad_core.runtime", *NOT_AT_START)
    assert _imported("import launchpad_core.cli", heavy) == []


def test_plugins_and_the_engine_load_without_the_libraries_only_some_commands_use() -> None:
    code = "from launchpad_core import Launchpad\nLaunchpad()"
    assert _imported(code, NOT_AT_START) == []


def test_every_public_name_resolves_lazily() -> None:
    import launchpad_core

    assert sorted(launchpad_core.__all__) == sorted(launchpad_core._EXPORTS)
    for name in launchpad_core.__all__:
        assert getattr(launchpad_core, name) is not None
    assert set(launchpad_core.__all__) <= set(dir(launchpad_core))


def test_the_launcher_imports_only_the_daemon_client() -> None:
    """A command the render daemon runs costs its caller little more than Python's start."""
    heavy = ("jinja2", "attrs", "attr", "pluggy", "launchpad_core.cli", "launchpad_core.config",
             "launchpad_core.runtime", *NOT_AT_START)
    assert _imported("import launchpad_core.launcher", heavy) == []
