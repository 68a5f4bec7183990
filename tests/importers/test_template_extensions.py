"""A template's own Jinja extension modules, loaded as the original tool loads them
when the render is trusted: Cookiecutter's ``_extensions`` naming a module or a
package beside ``cookiecutter.json`` (the template directory on ``sys.path``),
Copier's ``_jinja_extensions`` through ``copier-templates-extensions``, which finds
``path/to/module.py:Class`` through the loader's search path. Untrusted, one line
says the template needs trust."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import jinja2.environment
import pytest

from launchpad_core.cli import main as cli

from .conftest import assert_same_tree, run_cookiecutter, run_copier, write_tree

SHOUT = """\
from jinja2.ext import Extension


class {name}(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["{filter}"] = lambda v: str(v).upper() + "{mark}"
"""

COOKIECUTTER = {
    "cookiecutter.json": json.dumps(
        {"name": "widget", "_extensions": ["lp_cc_ext.Shout", "lp_cc_pkg.filters.Whisper"]}
    ),
    "lp_cc_ext.py": SHOUT.format(name="Shout", filter="shout", mark="!"),
    "lp_cc_pkg/__init__.py": "",
    "lp_cc_pkg/filters.py": SHOUT.format(name="Whisper", filter="whisper", mark="..."),
    "{{ cookiecutter.name }}/a.txt": "{{ cookiecutter.name | shout }} {{ 'x' | whisper }}\n",
}

COPIER = {
    "copier.yml": """\
_jinja_extensions:
  - copier_templates_extensions.TemplateExtensionLoader
  - extensions/context.py:ContextUpdater
  - extensions/filters.py:Shout
_exclude: [extensions, copier.yml]
name: widget
""",
    "extensions/context.py": (
        "from copier_templates_extensions import ContextHook\n\n\n"
        "class ContextUpdater(ContextHook):\n"
        "    def hook(self, context):\n"
        "        context['greeting'] = 'hello ' + str(context.get('name'))\n"
    ),
    "extensions/filters.py": SHOUT.format(name="Shout", filter="shout", mark="!"),
    "{{ name }}.txt.jinja": "{{ greeting }} {{ name | shout }}\n",
}


@pytest.fixture(autouse=True)
def own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAUNCHPAD_PLUGINS", "")
    monkeypatch.setenv("LAUNCHPAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LAUNCHPAD_NO_CACHE", raising=False)
    warnings.filterwarnings("ignore", "This package is deprecated", DeprecationWarning)
    # Copier's run leaves Jinja's import_string replaced by copier-template-extensions.
    monkeypatch.setattr(jinja2.environment, "import_string", jinja2.environment.import_string)
    yield
    # Both tools import the modules by name: neither may find the other's in sys.modules.
    for name in [m for m in sys.modules if m.startswith(("lp_cc_", "copier_template_extensions."))]:
        if "_internal" not in name:
            del sys.modules[name]


@pytest.mark.parametrize("answers", [{}, {"name": "gadget"}])
def test_cookiecutter_local_extensions_load_when_trusted(tmp_path, answers):
    src = write_tree(tmp_path / "tpl", COOKIECUTTER)
    data = [f"-d{k}={v}" for k, v in answers.items()]
    argv = ["render", str(src), str(tmp_path / "lp"), "--defaults", "-q", "--trust", *data]
    assert cli.main(argv) == 0  # first: Cookiecutter leaves the modules imported
    expected = run_cookiecutter(src, tmp_path / "cc", answers)
    assert_same_tree(expected, tmp_path / "lp")


@pytest.mark.parametrize("answers", [{}, {"name": "gadget"}])
def test_copier_template_extensions_load_when_trusted(tmp_path, answers):
    src = write_tree(tmp_path / "tpl", COPIER)
    data = [f"-d{k}={v}" for k, v in answers.items()]
    argv = ["render", str(src), str(tmp_path / "lp"), "--defaults", "-q", "--trust", *data]
    assert cli.main(argv) == 0
    expected = run_copier(src, tmp_path / "copier", answers, unsafe=True)
    assert_same_tree(expected, tmp_path / "lp")
    name = answers.get("name", "widget")
    assert (tmp_path / "lp" / f"{name}.txt").read_text() == f"hello {name} {name.upper()}!\n"


def test_an_imported_definition_carries_the_modules(tmp_path):
    """Rendered from the definition file, far from the template's directory."""
    src = write_tree(tmp_path / "tpl", COPIER)
    definition = tmp_path / "def.json"
    assert cli.main(["import", "copier", str(src), "-o", str(definition)]) == 0
    src.rename(tmp_path / "gone")
    assert cli.main(["render", str(definition), str(tmp_path / "lp"), "--defaults", "--trust"]) == 0
    assert (tmp_path / "lp" / "widget.txt").read_text() == "hello widget WIDGET!\n"


@pytest.mark.parametrize("tree", [COOKIECUTTER, COPIER], ids=["cookiecutter", "copier"])
@pytest.mark.parametrize("command", ["render", "validate"])
def test_untrusted_it_is_one_clear_error(tmp_path, capsys, tree, command):
    src = write_tree(tmp_path / "tpl", tree)
    render_args = [str(tmp_path / "out"), "--defaults"] if command == "render" else []
    argv = [command, str(src), *render_args]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("launchpad: error: the template's files use its Jinja extensions (")
    assert err.endswith("which load only when it is trusted (--trust on the command line)\n")
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_two_templates_with_modules_of_the_same_name_load_their_own(lp, tmp_path):
    """One process (the daemon) renders both: each gets its own ``lp_cc_ext``."""
    from .conftest import render_with_launchpad

    first = write_tree(tmp_path / "one", COOKIECUTTER)
    other = dict(COOKIECUTTER, **{"lp_cc_ext.py": SHOUT.format(name="Shout", filter="shout",
                                                                mark="?")})
    second = write_tree(tmp_path / "two", other)
    render_with_launchpad(lp, first, tmp_path / "out1", {}, trusted=True)
    render_with_launchpad(lp, second, tmp_path / "out2", {}, trusted=True)
    assert (tmp_path / "out1" / "widget" / "a.txt").read_text() == "WIDGET! X...\n"
    assert (tmp_path / "out2" / "widget" / "a.txt").read_text() == "WIDGET? X...\n"
