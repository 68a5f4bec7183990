"""LaunchPad renders imported Cookiecutter templates to Cookiecutter's very tree.

The template mirrors cookiecutter-pypackage: derived defaults, choice lists
with ``__prompts__``, booleans, a dict variable, private ``_x`` and rendered
``__x`` values, ``_copy_without_render``, the project folder named by a
variable, ``{% now %}``, binary and executable files and Windows newlines.
Smaller templates check folders (empty ones, copied ones, templated names) and
dictionary answers merged into the default.
"""

from __future__ import annotations

import json

import pytest

from .conftest import (
    assert_same_tree,
    folders,
    render_with_launchpad,
    run_cookiecutter,
    snapshot,
    write_tree,
)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"

CONTEXT = {
    "full_name": "Audrey Roy Greenfeld",
    "email": "audreyr@example.com",
    "github_username": "audreyr",
    "project_name": "Python Boilerplate",
    "project_slug": "{{ cookiecutter.project_name.lower().replace(' ', '_').replace('-', '_') }}",
    "project_short_description": "Python Boilerplate contains all the boilerplate you need.",
    "pypi_username": "{{ cookiecutter.github_username }}",
    "version": "0.1.0",
    "release": 1,
    "use_pytest": "n",
    "command_line_interface": ["Typer", "Argparse", "No command-line interface"],
    "open_source_license": [
        "MIT license",
        "BSD license",
        "ISC license",
        "Apache Software License 2.0",
        "Not open source",
    ],
    "use_docker": True,
    "settings": {
        "debug": "{{ cookiecutter.use_pytest == 'y' }}",
        "level": 3,
        "nested": {"items": [1, "{{ cookiecutter.version }}"], "flag": False},
    },
    "_copy_without_render": ["*.html", "static"],
    "_private_note": "{{ kept unrendered }}",
    "__slug_upper": "{{ cookiecutter.project_slug.upper() }}",
    "__prompts__": {
        "full_name": "Your full name",
        "open_source_license": {"__prompt__": "Which license?", "MIT license": "MIT"},
    },
}

PROJECT = "{{ cookiecutter.project_slug }}"

README = """\
{{ cookiecutter.project_name }}
{{ '=' * cookiecutter.project_name|length }}

{{ cookiecutter.project_short_description }}

* Upper slug: {{ cookiecutter.__slug_upper }}
* Private note: {{ cookiecutter._private_note }}
* Release: {{ cookiecutter.release }} / version {{ cookiecutter.version }}
* Settings: {{ cookiecutter.settings | jsonify }}
* Nested items: {{ cookiecutter.settings.nested['items'] }}
* Slugified: {{ cookiecutter.project_name | slugify }}
* Original choices: {{ _cookiecutter.open_source_license | join(', ') }}
* Keys: {{ cookiecutter.keys() | list | join(', ') }}
{% if cookiecutter.use_docker %}* Docker: yes{% endif %}
{%- if cookiecutter.command_line_interface|lower != 'no command-line interface' %}
* CLI: {{ cookiecutter.command_line_interface }}
{%- endif %}
"""

LICENSE = """\
{% if cookiecutter.open_source_license == 'MIT license' -%}
MIT License

Copyright (c) {% now 'utc', '%Y' %}, {{ cookiecutter.full_name }}
{% elif cookiecutter.open_source_license == 'BSD license' %}
BSD License

Copyright (c) {% now 'utc', '%Y' -%} , {{ cookiecutter.full_name }}
{% else %}
{{ cookiecutter.open_source_license }} ({% now 'utc' - 'days=400', '%Y' %})
{%- endif %}
"""


def pypackage_tree() -> dict:
    return {
        "cookiecutter.json": json.dumps(CONTEXT, indent=2),
        "README.md": "The template's own README, not part of the project.\n",
        f"{PROJECT}/README.rst": README,
        f"{PROJECT}/LICENSE": LICENSE,
        f"{PROJECT}/setup.py": (
            "from setuptools import setup\n\nsetup(\n"
            "    name='{{ cookiecutter.project_slug }}',\n"
            "    version='{{ cookiecutter.version }}',\n"
            "    author='{{ cookiecutter.full_name }}',\n)\n"
        ),
        f"{PROJECT}/Makefile": "test:\n\tpytest {{ cookiecutter.project_slug }}\n",
        f"{PROJECT}/docs/make.bat": "@ECHO OFF\r\nset PROJ={{ cookiecutter.project_slug }}\r\n",
        f"{PROJECT}/docs/plain.bat": "@ECHO OFF\r\nno markup\nmixed\r\n",
        f"{PROJECT}/docs/old-mac.txt": "one\rtwo {{ cookiecutter.version }}\r",
        f"{PROJECT}/docs/one-line.txt": "{{ cookiecutter.project_name }} with no newline",
        f"{PROJECT}/docs/logo.png": PNG,
        f"{PROJECT}/docs/page.html": "<p>{{ not rendered }}</p>\n",
        f"{PROJECT}/static/{{{{ raw }}}}.js": "const x = '{{ raw }}';\n",
        f"{PROJECT}/static/sub/app.css": "body {}\n",
        f"{PROJECT}/{PROJECT}/__init__.py": (
            '"""Top-level package for {{ cookiecutter.project_name }}."""\n\n'
            "__author__ = \"\"\"{{ cookiecutter.full_name }}\"\"\"\n"
            "__version__ = '{{ cookiecutter.version }}'\n"
        ),
        f"{PROJECT}/{PROJECT}/{{% if cookiecutter.use_docker %}}Dockerfile{{% endif %}}": (
            "FROM python:3.12\nCOPY . /{{ cookiecutter.project_slug }}\n"
        ),
        f"{PROJECT}/scripts/run.sh": ("#!/bin/sh\nexec {{ cookiecutter.project_slug }}\n", 0o755),
        f"{PROJECT}/tests/data.bin": bytes(range(256)),
        f"{PROJECT}/.github/workflows/test.yml": (
            "{% raw %}runs-on: ${{ matrix.os }}{% endraw %}\n"
            "name: {{ cookiecutter.project_name }}\n"
        ),
        f"{PROJECT}/.editorconfig": "root = true\n\n[*]\nindent_style = space\n",
    }


CASES = [
    {},
    {
        "full_name": "Ada Lovelace",
        "project_name": "Analytical Engine",
        "open_source_license": "BSD license",
        "command_line_interface": "No command-line interface",
        "use_docker": False,
        "use_pytest": "y",
    },
    {"open_source_license": "Not open source", "release": "7"},
]


@pytest.mark.parametrize("answers", CASES, ids=["defaults", "answered", "other-license"])
def test_pypackage_template_is_identical(lp, tmp_path, answers):
    src = write_tree(tmp_path / "cookiecutter-pypackage", pypackage_tree())
    expected = run_cookiecutter(src, tmp_path / "cookiecutter", answers)
    actual = render_with_launchpad(lp, src, tmp_path / "launchpad", answers)
    assert_same_tree(expected, actual)


FOLDERS_PROJECT = "{{ cookiecutter.name }}"

# Empty folders, a folder whose only file's name renders empty, a copied folder
# with an empty folder and a templated name inside (kept as it is), templated names.
FOLDERS_TREE = {
    "cookiecutter.json": json.dumps(
        {"name": "widget", "extras": "n", "_copy_without_render": ["static"]}
    ),
    f"{FOLDERS_PROJECT}/README.md": "# {{ cookiecutter.name }}\n",
    f"{FOLDERS_PROJECT}/empty/": None,
    f"{FOLDERS_PROJECT}/nested/empty/deeper/": None,
    f"{FOLDERS_PROJECT}/conditional/{{% if cookiecutter.extras == 'y' %}}x.txt{{% endif %}}": "x\n",
    f"{FOLDERS_PROJECT}/static/app.css": "body {}\n",
    f"{FOLDERS_PROJECT}/static/empty/": None,
    f"{FOLDERS_PROJECT}/static/{{{{ raw }}}}/": None,
    f"{FOLDERS_PROJECT}/{FOLDERS_PROJECT}-data/": None,
}


@pytest.mark.parametrize("answers", [{}, {"name": "gadget", "extras": "y"}])
def test_folders_are_created_as_cookiecutter_creates_them(lp, tmp_path, answers):
    src = write_tree(tmp_path / "folders", FOLDERS_TREE)
    expected = run_cookiecutter(src, tmp_path / "cookiecutter", answers)
    actual = render_with_launchpad(lp, src, tmp_path / "launchpad", answers)
    assert_same_tree(expected, actual)
    name = answers.get("name", "widget")
    assert {f"{name}/empty/", f"{name}/conditional/", f"{name}/{name}-data/"} <= folders(actual)


def test_a_folder_named_empty_stops_cookiecutter_and_is_skipped_by_launchpad(lp, tmp_path):
    """Cookiecutter makes the folder's parent again and stops ("already exists");
    LaunchPad skips the folder and what it holds, as Copier does."""
    from cookiecutter.exceptions import OutputDirExistsException

    tree = {
        "cookiecutter.json": json.dumps({"name": "widget", "extras": "n"}),
        f"{FOLDERS_PROJECT}/README.md": "# {{ cookiecutter.name }}\n",
        f"{FOLDERS_PROJECT}/{{% if cookiecutter.extras == 'y' %}}extras{{% endif %}}/a.txt": "a\n",
        f"{FOLDERS_PROJECT}/{{% if cookiecutter.extras == 'y' %}}extras{{% endif %}}/inner/": None,
    }
    src = write_tree(tmp_path / "named-empty", tree)
    with pytest.raises(OutputDirExistsException):
        run_cookiecutter(src, tmp_path / "cookiecutter-n", {})
    actual = render_with_launchpad(lp, src, tmp_path / "launchpad-n", {})
    assert folders(actual) == {"widget/"}
    assert set(snapshot(actual)) == {"widget/README.md"}
    expected = run_cookiecutter(src, tmp_path / "cookiecutter-y", {"extras": "y"})
    actual = render_with_launchpad(lp, src, tmp_path / "launchpad-y", {"extras": "y"})
    assert_same_tree(expected, actual)


DICT_CONTEXT = {
    "name": "widget",
    "version": "1.0",
    "settings": {
        "debug": "{{ cookiecutter.name == 'widget' }}",
        "level": 3,
        "flag": True,
        "owner": "{{ cookiecutter.name | upper }}",
        "nested": {"items": [1, "{{ cookiecutter.version }}"], "on": False, "keep": "k"},
    },
}

# Keys in order, each value as JSON: shows merged keys, their order and their types.
DICT_REPORT = """\
{% for key, value in cookiecutter.settings.items() -%}
{{ key }} = {{ value | tojson }}
{% endfor -%}
{% for key, value in cookiecutter.settings.nested.items() -%}
nested.{{ key }} = {{ value | tojson }}
{% endfor -%}
"""

DICT_ANSWERS = [
    {},
    {"settings": {"level": 5, "flag": "no", "nested": {"on": "yes", "items": ["x"], "new": 7}}},
    {"name": "gizmo", "settings": {"added": {"a": 1, "b": None}, "owner": "me"}},
]


@pytest.mark.parametrize("answers", DICT_ANSWERS, ids=["defaults", "nested", "new-keys"])
def test_a_dictionary_answer_is_merged_into_the_default(lp, tmp_path, answers):
    tree = {
        "cookiecutter.json": json.dumps(DICT_CONTEXT),
        f"{FOLDERS_PROJECT}/settings.txt": DICT_REPORT,
    }
    src = write_tree(tmp_path / "dictionary", tree)
    expected = run_cookiecutter(src, tmp_path / "cookiecutter", answers)
    actual = render_with_launchpad(lp, src, tmp_path / "launchpad", answers)
    assert_same_tree(expected, actual)


# ``{% now %}`` in values: plain, shifted, inside a derived value, a dictionary, a
# choice; a private ``_x`` value keeps the tag unrendered. Years only, so both
# tools agree whenever they run (a run across New Year's midnight excepted).
NOW_TREE = {
    "cookiecutter.json": json.dumps(
        {
            "project": "dated",
            "year": "{% now 'utc', '%Y' %}",
            "notice": "(c) {% now 'utc' - 'days=400', '%Y' -%} , {{ cookiecutter.project }}",
            "meta": {"since": "{% now 'utc', '%Y' %}", "{% now 'utc', '%Y' %}": "key"},
            "edition": ["{% now 'utc', '%Y' %}", "classic"],
            "_raw": "{% now 'utc' %}",
        }
    ),
    "{{ cookiecutter.project }}/a.txt": (
        "{{ cookiecutter.year }}|{{ cookiecutter.notice }}|{{ cookiecutter.meta | jsonify }}|"
        "{{ cookiecutter.edition }}|{{ cookiecutter._raw }}|{{ _cookiecutter.year }}\n"
    ),
}


@pytest.mark.parametrize("answers", [{}, {"project": "other"}])
def test_now_tags_in_cookiecutter_json_values(lp, tmp_path, answers):
    src = write_tree(tmp_path / "tpl", NOW_TREE)
    expected = run_cookiecutter(src, tmp_path / "cookiecutter", answers)
    actual = render_with_launchpad(lp, src, tmp_path / "launchpad", answers)
    assert_same_tree(expected, actual)
