"""The four generators through ``Launchpad``: loaded from the installed entry
point and registered inline, asked for by a template with Jinja options."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from launchpad_core import DefinitionError, Launchpad, LaunchpadError
from launchpad_core.testing import launchpad_with, plugin_manager_with, render_tree

import launchpad_generators.plugin

GENERATORS = {
    "license": {"spdx": "{{ license }}", "holder": "{{ author }}", "year": "2024"},
    "gitignore": {"languages": "python, macos, {{ editors | join(',') }}"},
    "editorconfig": {"indent_style": "space", "indent_size": "{{ indent }}",
                     "max_line_length": "100"},
    "github-actions": {"language": "python", "versions": "{{ pythons }}",
                       "test_command": "pytest -q"},
}

DEFINITION: dict[str, Any] = {
    "name": "python-lib",
    "variables": [
        {"name": "author", "default": "Ada Lovelace"},
        {"name": "license", "type": "choice", "default": "MIT",
         "choices": ["MIT", "Apache-2.0", "BSD-3-Clause", "ISC", "GPL-3.0-only"]},
        {"name": "pythons", "default": "3.10, 3.12"},
        {"name": "indent", "type": "int", "default": 4},
        {"name": "editors", "type": "multichoice", "choices": ["vscode", "jetbrains"],
         "default": ["vscode"]},
    ],
    "settings": {"generators": GENERATORS},
    "files": [{"path": "README.md", "content": "Released under the {{ license | spdx_name }}.\n"}],
}


@pytest.fixture(params=["entry_point", "inline"])
def lp(request: pytest.FixtureRequest) -> Launchpad:
    if request.param == "entry_point":
        return launchpad_with(load_entrypoints=True, only={"generators"})
    return launchpad_with(launchpad_generators.plugin)


def with_generators(**generators: dict[str, Any]) -> dict[str, Any]:
    return {**DEFINITION, "settings": {"generators": generators}}


def test_the_installed_entry_point_registers_the_plugin() -> None:
    pm = plugin_manager_with(load_entrypoints=True, only={"generators"})
    assert pm.get_plugin("generators") is launchpad_generators.plugin


def test_without_the_plugin_a_template_asking_for_generators_is_invalid() -> None:
    lp = launchpad_with(load_entrypoints=True, only=set())  # LAUNCHPAD_PLUGINS=""
    with pytest.raises(DefinitionError) as caught:
        lp.structure(DEFINITION)
    unknown = {p.path for p in caught.value.problems if p.code == "unknown_generator"}
    assert unknown == {f"$.settings.generators.{name}" for name in GENERATORS}


def test_a_template_gets_all_four_files(lp: Launchpad) -> None:
    files = render_tree(lp, DEFINITION, {"author": "Grace Hopper", "indent": 2})
    assert sorted(files) == [
        ".editorconfig", ".github/workflows/ci.yml", ".gitignore", "LICENSE", "README.md",
    ]
    assert files["README.md"] == b"Released under the MIT License.\n"
    assert files["LICENSE"].startswith(b"MIT License\n\nCopyright (c) 2024 Grace Hopper\n")
    assert b"indent_size = 2\n" in files[".editorconfig"]
    assert b"max_line_length = 100\n" in files[".editorconfig"]
    gitignore = files[".gitignore"].decode()
    assert gitignore.index("# Python") < gitignore.index("# macOS") < gitignore.index("# Visual")
    assert "# JetBrains" not in gitignore
    workflow = yaml.safe_load(files[".github/workflows/ci.yml"])
    assert workflow["jobs"]["test"]["strategy"]["matrix"] == {"python-version": ["3.10", "3.12"]}


@pytest.mark.parametrize(("spdx", "name"), [
    ("Apache-2.0", "Apache License 2.0"),
    ("GPL-3.0-only", "GNU General Public License v3.0 only"),
])
def test_the_answers_choose_the_license(lp: Launchpad, spdx: str, name: str) -> None:
    files = render_tree(lp, DEFINITION, {"license": spdx})
    assert files["README.md"] == f"Released under the {name}.\n".encode()
    assert b"Ada Lovelace" not in files["LICENSE"]  # verbatim texts name no holder


def test_the_templates_own_license_wins(lp: Launchpad) -> None:
    own = {"path": "LICENSE", "content": "All rights reserved, {{ author }}.\n"}
    definition = {**DEFINITION, "files": [*DEFINITION["files"], own]}
    files = render_tree(lp, definition)
    assert files["LICENSE"] == b"All rights reserved, Ada Lovelace.\n"
    assert ".gitignore" in files


@pytest.mark.parametrize(("generator", "options", "message"), [
    ("license", {"spdx": "{{ value }}", "holder": "Ada"},
     "file generator 'license': unknown SPDX license id 'WTFPL' "
     "(supported: MIT, Apache-2.0, BSD-3-Clause, ISC, GPL-3.0-only)"),
    ("license", {"spdx": "MIT", "holder": "Ada", "year": "{{ value }}"},
     "file generator 'license': year 'WTFPL' is not a year such as 2024 or 2019-2024"),
    ("license", {"spdx": "MIT", "holder": "{{ '' if value else 'x' }}"},
     "file generator 'license': the MIT license names the copyright holder: set 'holder'"),
    ("license", {"spdx": "MIT", "licence_holder": "{{ value }}"},
     "file generator 'license': unknown option 'licence_holder' (options: spdx, holder, "
     "year, path)"),
    ("gitignore", {"languages": "python, {{ value }}"},
     "file generator 'gitignore': unknown language 'WTFPL' (supported: python, node, go, "
     "rust, java, macos, windows, jetbrains, vscode)"),
    ("editorconfig", {"indent_style": "{{ value }}"},
     "file generator 'editorconfig': indent_style 'WTFPL' is not supported "
     "(supported: space, tab)"),
    ("editorconfig", {"indent_size": "{{ value }}"},
     "file generator 'editorconfig': indent_size must be a whole number above 0, got 'WTFPL'"),
    ("github-actions", {"language": "{{ value }}"},
     "file generator 'github-actions': language 'WTFPL' is not supported "
     "(supported: python, node)"),
    ("github-actions", {"versions": "3.12, {{ value }} 3"},
     "file generator 'github-actions': 'WTFPL 3' is not a version such as 3.12 or 20.x"),
])
def test_unsupported_option_values_stop_the_render(
    lp: Launchpad, generator: str, options: dict[str, str], message: str
) -> None:
    definition = {
        "name": "t",
        "variables": [{"name": "value", "default": "WTFPL"}],
        "settings": {"generators": {generator: options}},
    }
    with pytest.raises(LaunchpadError) as caught:
        render_tree(lp, definition)
    assert str(caught.value) == message


def test_generated_files_follow_the_exclude_setting(lp: Launchpad) -> None:
    definition = with_generators(**GENERATORS)
    definition["settings"]["exclude"] = [".github/"]
    assert ".github/workflows/ci.yml" not in render_tree(lp, definition)
