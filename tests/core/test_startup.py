"""Every `launchpad` command loads all plugins first: their entry points must import lightly.

`launchpad render` should not pay for the web stack. Entry-point modules register
their hooks and import heavy libraries inside the functions that use them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("sqlalchemy", "alembic", "falcon", "waitress", "psycopg", "huey", "redis", "stripe",
         "smtplib", "ssl", "requests", "authlib", "cryptography")

PROBE = f"""
import sys
from launchpad_core.plugins.manager import make_plugin_manager
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
                "tarfile", "launchpad_core.model.serialization",
                "launchpad_core.importers.template_tasks",
                # what reads a Copier template (every command registers its plugin)
                "launchpad_core.importers.copier_tree", "launchpad_core.importers.copier_config",
                # what only billing or a template naming a file generator uses
                "launchpad_core.plugins.billing", "launchpad_core.plugins.generators",
                "launchpad_generators.license", "launchpad_generators.github_actions")


def _imported(code: str, names: tuple[str, ...]) -> list[str]:
    probe = f"import sys\n{code}\nprint(','.join(m for m in {names!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return [m for m in result.stdout.strip().split(",") if m]


def test_the_cli_module_imports_no_engine_before_a_command_runs() -> None:
    heavy = ("jinja2", "launchpad_core.launchpad", *NOT_AT_START)
    assert _imported("import launchpad_core.cli.main", heavy) == []


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
    heavy = ("jinja2", "attrs", "attr", "pluggy", "launchpad_core.cli.main",
             "launchpad_core.config",
             "launchpad_core.launchpad", "socket", "signal", *NOT_AT_START)
    assert _imported("import launchpad_core.cli.launcher", heavy) == []


def test_the_launcher_imports_no_socket_module_when_no_daemon_listens(tmp_path) -> None:
    """Asking for a daemon whose socket is not there costs one look at the folder."""
    code = ("import os\nfrom launchpad_core.cli.daemon import forward\n"
            f"env = {{'LAUNCHPAD_CACHE_DIR': {str(tmp_path)!r}}}\n"
            "assert forward(['render', 'x', 'y', '--defaults'], env) is None")
    assert _imported(code, ("socket", "signal")) == []


ENTRY_POINT_PROBE = """
import sys
from pathlib import Path
from launchpad_core.plugins.manager import _entry_points, keep_entry_points, make_plugin_manager
pm = make_plugin_manager(cache_dir=Path(sys.argv[1]))
print(",".join(sorted(name for name, _ in pm.list_name_plugin())))
print(_entry_points.cache_info().misses, "importlib.metadata" in sys.modules)
keep_entry_points(pm)
"""


def test_the_cli_keeps_the_entry_points_and_reads_them_without_scanning(tmp_path) -> None:
    def run() -> list[str]:
        result = subprocess.run([sys.executable, "-c", ENTRY_POINT_PROBE, str(tmp_path)],
                                capture_output=True, text=True, check=True, timeout=60)
        return result.stdout.split()

    from launchpad_core.plugins.manager import make_plugin_manager

    every = ",".join(sorted(name for name, _ in make_plugin_manager().list_name_plugin()))
    assert run() == [every, "1", "False"]  # scanned, then kept (keep_entry_points)
    assert (tmp_path / "entry-points.json").is_file()
    assert run() == [every, "0", "False"]  # read from the cache folder


def test_reading_the_entry_points_writes_nothing_until_kept(tmp_path) -> None:
    """A service command (serve, worker) never calls keep_entry_points: it must leave
    the CLI's cache folder untouched."""
    from launchpad_core.plugins.manager import make_plugin_manager

    cache = tmp_path / "cli-cache"
    make_plugin_manager(cache_dir=cache)
    assert not cache.exists()


def _keep(cache: Path, key: list[str]) -> None:
    body = {"key": key, "entry_points": [["bogus", "no_such_module_here:plugin"]]}
    (cache / "entry-points.json").write_text(json.dumps(body), encoding="utf-8")


def test_a_kept_entry_point_list_is_used_while_the_installation_is_unchanged(tmp_path) -> None:
    from launchpad_core.errors import PluginError
    from launchpad_core.plugins.manager import _installation_key, make_plugin_manager

    _keep(tmp_path, _installation_key())
    with pytest.raises(PluginError, match="plugin 'bogus' failed to load"):
        make_plugin_manager(cache_dir=tmp_path)


@pytest.mark.parametrize("kept", ["not json", '{"key": 1}', "[]"])
def test_a_stale_or_broken_entry_point_list_is_read_again(tmp_path, kept) -> None:
    from launchpad_core.plugins.manager import _entry_points, keep_entry_points, make_plugin_manager

    (tmp_path / "entry-points.json").write_text(kept, encoding="utf-8")
    names = {name for name, _ in make_plugin_manager(cache_dir=tmp_path).list_name_plugin()}
    assert {name for name, _ in _entry_points()} <= names
    _keep(tmp_path, ["another interpreter"])
    pm = make_plugin_manager(cache_dir=tmp_path)
    assert "bogus" not in dict(pm.list_name_plugin())
    keep_entry_points(pm)
    kept_now = json.loads((tmp_path / "entry-points.json").read_text(encoding="utf-8"))
    assert [tuple(ep) for ep in kept_now["entry_points"]] == list(_entry_points())


def test_an_entry_point_value_names_a_module_or_an_attribute_within_it() -> None:
    from launchpad_core.plugins import manager as plugins

    assert plugins._load_object("launchpad_core.plugins.manager") is plugins
    loaded = plugins._load_object("launchpad_core.plugins.manager : Hooks.plugins")
    assert loaded is plugins.Hooks.plugins
    assert plugins._load_object("launchpad_core.plugins.manager:Hooks [extra]") is plugins.Hooks


@pytest.mark.parametrize("group", ["launchpad", "console_scripts", "pytest11"])
def test_entry_points_are_read_as_importlib_metadata_reads_them(group) -> None:
    from importlib.metadata import entry_points

    from launchpad_core.plugins.manager import _scanned_entry_points

    expected = tuple((ep.name, ep.value) for ep in entry_points(group=group))
    assert _scanned_entry_points(group) == expected
    assert expected or group != "launchpad"


def _distribution(root: Path, folder: str, text: str | None) -> None:
    (root / folder).mkdir(parents=True)
    if text is not None:
        (root / folder / "entry_points.txt").write_text(text, encoding="utf-8")


def test_entry_points_of_made_up_installations_match_importlib_metadata(
        tmp_path, monkeypatch) -> None:
    """The first distribution of a name wins (names compared as PEP 503 normalises them),
    folders in ``sys.path`` order; comments, blank lines and other groups are skipped."""
    from importlib.metadata import entry_points

    from launchpad_core.plugins.manager import _scanned_entry_points

    first, second = tmp_path / "first", tmp_path / "second"
    _distribution(first, "My.Plugin-1.0.dist-info",
                  "# comment\n\n[other]\nx = a:b\n[launchpad]\n one = my_plugin:hooks \n")
    _distribution(first, "no_entry_points-2.0.dist-info", None)
    _distribution(second, "my_plugin-0.9.dist-info", "[launchpad]\nold = my_plugin_old\n")
    _distribution(second, "other_thing-3.egg-info", "[launchpad]\ntwo=other.plugin:obj.attr\n")
    monkeypatch.setattr(sys, "path", [str(first), str(tmp_path / "missing"), str(second)])
    expected = tuple((ep.name, ep.value) for ep in entry_points(group="launchpad"))
    assert _scanned_entry_points("launchpad") == expected
    assert expected == (("one", "my_plugin:hooks"), ("two", "other.plugin:obj.attr"))


def test_an_unusual_installation_is_left_to_importlib_metadata(tmp_path, monkeypatch) -> None:
    from launchpad_core.plugins.manager import _scanned_entry_points

    _distribution(tmp_path, "broken-1.0.dist-info", "[launchpad]\nno equals sign\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert _scanned_entry_points("launchpad") is None
    archive = tmp_path / "plugins.zip"
    archive.write_bytes(b"PK\x05\x06" + bytes(18))
    monkeypatch.setattr(sys, "path", [str(archive)])
    assert _scanned_entry_points("launchpad") is None


def test_a_cold_render_imports_neither_importlib_metadata_nor_email(tmp_path) -> None:
    source = tmp_path / "t.json"
    source.write_text(json.dumps({"name": "t", "files": [{"path": "a", "content": "x"}]}))
    code = (f"from launchpad_core.cli.main import main\n"
            f"main(['render', {str(source)!r}, {str(tmp_path / 'out')!r}, '-q'])")
    env_code = (f"import os\nos.environ['LAUNCHPAD_CACHE_DIR'] = {str(tmp_path / 'c')!r}\n"
                f"{code}")
    lazy = ("importlib.metadata", "email", "socket", "zipfile", "secrets", "uuid", "shlex",
            "ctypes", "launchpad_core.render.archives", "getpass")
    at_python_start = _imported("", lazy)  # what the interpreter's site already imports
    assert set(_imported(env_code, lazy)) == set(at_python_start)
    assert (tmp_path / "out" / "a").read_text() == "x"


def test_plugin_start_up_imports_no_forge_until_one_is_configured() -> None:
    forge_code = ("launchpad_core.plugins.forges", "launchpad_github.forge",
                  "launchpad_gitlab.forge")
    code = "from launchpad_core.plugins.manager import make_plugin_manager\nmake_plugin_manager()"
    assert _imported(code, forge_code) == []
    asked = (f"{code}.hook.launchpad_forges("
             "settings={'github': {'client_id': 'x', 'client_secret': 'y'}})")
    assert _imported(asked, forge_code) == ["launchpad_core.plugins.forges",
                                            "launchpad_github.forge"]


def test_rendering_a_template_directory_that_is_no_repository_runs_no_git(tmp_path) -> None:
    template = tmp_path / "t"
    template.mkdir()
    (template / "copier.yml").write_text("name: x\n")
    (template / "a.jinja").write_text("{{ name }}")
    code = (f"import os\nos.environ['LAUNCHPAD_CACHE_DIR'] = {str(tmp_path / 'c')!r}\n"
            f"from launchpad_core.cli.main import main\n"
            f"main(['render', {str(template)!r}, {str(tmp_path / 'out')!r}, '--defaults', '-q'])")
    assert _imported(code, ("launchpad_core.sources.git",)) == []
    assert (tmp_path / "out" / "a").read_text() == "x"


def _subparsers(parser):
    import argparse

    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def test_a_command_line_builds_only_its_command_s_parser_and_it_is_the_same() -> None:
    from launchpad_core.cli.main import _parser
    from launchpad_core.plugins.manager import make_plugin_manager

    pm = make_plugin_manager()
    every = _subparsers(_parser(pm))
    assert {"render", "import", "update", "login", "serve", "db"} <= set(every)
    for name, full in every.items():
        alone = _subparsers(_parser(pm, name))
        assert list(alone) == [name]
        assert alone[name].format_help() == full.format_help()


def test_an_unknown_command_is_refused_with_every_command_listed(capsys) -> None:
    from launchpad_core.cli.main import main

    with pytest.raises(SystemExit) as exit_:
        main(["rendr", "x"])
    assert exit_.value.code == 2
    assert "invalid choice: 'rendr' (choose from 'render', 'import'" in capsys.readouterr().err


QUICK_EXIT = """
import atexit, sys
from launchpad_core.cli.main import exit_after
atexit.register(lambda: print("exit handler ran"))
print("buffered output", end="; ")
exit_after({argv!r}, 3)
"""


@pytest.mark.parametrize("argv", [["render", "t", "out"], ["plugins"]])
def test_a_command_ends_with_its_status_output_and_exit_handlers(argv) -> None:
    done = subprocess.run([sys.executable, "-c", QUICK_EXIT.format(argv=argv)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (3, "buffered output; exit handler ran\n")


def test_a_quick_exit_waits_for_a_thread_that_is_no_daemon() -> None:
    code = ("import threading, time\nfrom launchpad_core.cli.main import exit_after\n"
            "threading.Thread(target=lambda: (time.sleep(0.3), print('thread done'))).start()\n"
            "exit_after(['render'], 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert (done.returncode, done.stdout) == (0, "thread done\n")


def test_the_console_script_renders_and_exits_with_its_status(tmp_path) -> None:
    source = tmp_path / "t.json"
    source.write_text(json.dumps({"name": "t", "files": [{"path": "a", "content": "x"}]}))
    run = [sys.executable, "-c", "import sys; sys.argv[0] = 'launchpad'\n"
           "from launchpad_core.cli.launcher import main\nsys.exit(main())"]
    env = {**os.environ, "LAUNCHPAD_NO_DAEMON": "1", "LAUNCHPAD_CACHE_DIR": str(tmp_path / "c")}
    done = subprocess.run([*run, "render", str(source), str(tmp_path / "out")], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (0, f"Wrote 1 file to {tmp_path / 'out'}.\n")
    again = subprocess.run([*run, "render", str(source), str(tmp_path / "out")], env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 1 and "already exist" in again.stderr


@pytest.mark.parametrize(("argv", "collecting"), [(["plugins"], True), (["daemon", "status"], True),
                                                  (["validate", "missing.json"], False)])
def test_only_the_quick_commands_run_without_the_cycle_collector(argv, collecting) -> None:
    code = (f"import gc, sys\ngc.disable()\nfrom launchpad_core.cli.main import main\n"
            f"main({argv!r})\nprint(gc.isenabled(), file=sys.stderr)")
    env = {**os.environ, "LAUNCHPAD_NO_DAEMON": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False, env=env)
    assert done.stderr.strip().splitlines()[-1] == str(collecting)


def test_a_cold_render_imports_no_module_only_unusual_values_need(tmp_path) -> None:
    template = tmp_path / "t"
    (template / "{{ cookiecutter.name }}").mkdir(parents=True)
    (template / "cookiecutter.json").write_text('{"name": "x"}')
    content = "{% if cookiecutter.name == 'x' %}y{% endif %}"
    (template / "{{ cookiecutter.name }}" / "a").write_text(content)
    code = (f"import os\nos.environ['LAUNCHPAD_CACHE_DIR'] = {str(tmp_path / 'c')!r}\n"
            f"from launchpad_core.cli.main import main\n"
            f"main(['render', {str(template)!r}, {str(tmp_path / 'out')!r}, '--defaults', '-q'])")
    assert _imported(code, ("decimal", "calendar")) == []
    assert (tmp_path / "out" / "x" / "a").read_text() == "y"


def test_a_decimal_casts_to_its_text_as_in_copier() -> None:
    from decimal import Decimal

    from launchpad_core.importers.copier_questions import cast_to_str

    assert cast_to_str(Decimal("1.50")) == "1.50"
    with pytest.raises(ValueError, match="could not convert"):
        cast_to_str(object())
