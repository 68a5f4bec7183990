"""LaunchPad renders imported Copier templates to Copier's very tree.

The first template mirrors a public "python project" Copier template (answers
file, dict and list choices, multiselect, derived defaults, conditional and
empty-named paths, binary and executable files, a templated ``_exclude``); the
second exercises an empty templates suffix, custom Jinja syntax and Copier's
default exclusions.
"""

from __future__ import annotations

import pytest

from .conftest import assert_same_tree, render_with_launchpad, run_copier, write_tree

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x1f"

COPIER_YML = """\
_subdirectory: project
_skip_if_exists:
  - CHANGELOG.md
_exclude:
  - "*.pyc"
  - "{% if not use_ci %}tox.ini{% endif %}"
  - "{% if not use_ci %}.github{% endif %}"

project_name:
  type: str
  help: Your project name
  default: My Project

project_description:
  type: str
  help: A short description
  default: A project made from a template.

author_fullname:
  type: str
  default: Jane Doe

author_email:
  type: str
  default: "{{ author_fullname | lower | replace(' ', '.') }}@example.com"

author_username:
  type: str
  default: "{{ author_fullname | lower | replace(' ', '') }}"
  validator: >-
    {% if not (author_username | regex_search('^[a-z0-9-]+$')) %}letters
    and digits only{% endif %}

repository_provider:
  type: str
  help: Where the repository lives
  choices:
    GitHub: github.com
    GitLab: gitlab.com
  default: github.com

repository_name:
  type: str
  default: "{{ project_name | lower | replace(' ', '-') }}"

python_package_import_name:
  type: str
  default: "{{ repository_name | replace('-', '_') }}"

copyright_license:
  type: str
  choices:
    - MIT
    - ISC
    - Apache-2.0
  default: ISC

copyright_year:
  type: int
  default: 2024

python_versions:
  type: str
  multiselect: true
  choices: ["3.10", "3.11", "3.12", "3.13"]
  default: ["3.11", "3.12"]

use_docs:
  type: bool
  default: true

docs_theme:
  type: str
  choices: [material, readthedocs]
  default: material
  when: "{{ use_docs }}"

use_ci: false

coverage_threshold:
  type: float
  default: 87.5

tool_settings:
  type: yaml
  default: |
    line_length: 100
    targets: [py311, py312]

extra_metadata:
  type: json
  default: '{"keywords": ["template", "copier"], "stable": false}'

api_token:
  type: str
  secret: true
  default: not-a-real-token
"""

ANSWERS_FILE = """\
# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY
{{ _copier_answers | to_nice_yaml -}}
"""

README = """\
# {{ project_name }}

{{ project_description }}

By {{ author_fullname }} <{{ author_email }}> ({{ author_username }}).
Repository: https://{{ repository_provider }}/{{ author_username }}/{{ repository_name }}

Supported Python versions:
{% for version in python_versions %}
- {{ version }}
{%- endfor %}

Coverage must stay above {{ coverage_threshold }}%.
{% if use_docs %}Documentation uses the {{ docs_theme }} theme.{% endif %}
Settings: {{ tool_settings | to_json }}
Keywords: {{ extra_metadata.keywords | join(", ") }}
Metadata: {{ extra_metadata | to_nice_json }}
Answers file: {{ _copier_conf.answers_file }}; folder: {{ _folder_name }}
Secret present: {{ api_token | length > 0 }}
trailing spaces{{ "   " }}
"""

PYPROJECT = """\
[project]
name = "{{ repository_name }}"
description = "{{ project_description }}"
license = "{{ copyright_license }}"
authors = [{name = "{{ author_fullname }}", email = "{{ author_email }}"}]
classifiers = [
{%- for version in python_versions %}
    "Programming Language :: Python :: {{ version }}",
{%- endfor %}
]

[tool.ruff]
line-length = {{ tool_settings.line_length }}
target-version = "{{ tool_settings.targets | first }}"
"""

LICENSE = """\
{% if copyright_license == "MIT" -%}
MIT License
{%- elif copyright_license == "ISC" -%}
ISC License
{%- else -%}
Apache License 2.0
{%- endif %}

Copyright (c) {{ copyright_year }} {{ author_fullname }}
"""


def python_project_tree() -> dict:
    return {
        "copier.yml": COPIER_YML,
        "README.md": "This is the template's own README; it is not copied.\n",
        "project/{{ _copier_conf.answers_file }}.jinja": ANSWERS_FILE,
        "project/README.md.jinja": README,
        "project/pyproject.toml.jinja": PYPROJECT,
        "project/LICENSE.jinja": LICENSE,
        "project/CHANGELOG.md": "# Changelog\n\n{{ not rendered }}\n",
        "project/.gitignore": "__pycache__/\n*.py[cod]\n/dist/\n",
        "project/Makefile": "this plain Makefile is shadowed by Makefile.jinja\n",
        "project/Makefile.jinja": "test:\n\tpytest --cov={{ python_package_import_name }}\n",
        "project/make.bat.jinja": "@ECHO OFF\r\nREM {{ project_name }}\r\nsphinx-build docs\r\n",
        "project/no-final-newline.txt.jinja": "{{ project_name }} ends here",
        "project/src/{{ python_package_import_name }}/__init__.py.jinja": (
            '"""{{ project_description }}"""\n\n__version__ = "0.1.0"\n'
        ),
        "project/src/{{ python_package_import_name }}/py.typed": "",
        "project/src/{{ python_package_import_name }}/cache.pyc": b"\x00\x01compiled",
        "project/scripts/setup.sh": ("#!/bin/sh\nset -e\necho '{{ kept as is }}'\n", 0o755),
        "project/scripts/release.sh.jinja": ("#!/bin/sh\necho {{ repository_name }}\n", 0o750),
        "project/{% if use_docs %}docs{% endif %}/index.md.jinja": "# {{ project_name }}\n",
        "project/{% if use_docs %}docs{% endif %}/logo.png": PNG,
        "project/{% if use_docs %}mkdocs.yml{% endif %}.jinja": (
            "site_name: {{ project_name }}\ntheme: {{ docs_theme }}\n"
        ),
        "project/{% if use_ci %}ci.cfg{% endif %}.jinja": "[ci]\n",
        "project/tox.ini": "[tox]\nenvlist = py3\n",
        "project/.github/workflows/ci.yml": "on: push\njobs: {}\n",
        "project/{{ 'tests' }}/test_{{ python_package_import_name }}.py.jinja": (
            "import {{ python_package_import_name }}\n\n\ndef test_version():\n"
            "    assert {{ python_package_import_name }}.__version__\n"
        ),
    }


PYTHON_PROJECT_ANSWERS = [
    {},
    {
        "project_name": "Rocket Science",
        "author_fullname": "Ada Lovelace",
        "repository_provider": "gitlab.com",
        "copyright_license": "MIT",
        "python_versions": ["3.12", "3.10"],
        "use_docs": False,
        "use_ci": True,
        "coverage_threshold": 99.0,
        "tool_settings": {"line_length": 88, "targets": ["py312"]},
    },
    {"copyright_license": "Apache-2.0", "docs_theme": "readthedocs", "api_token": "xyz"},
]


@pytest.mark.parametrize("answers", PYTHON_PROJECT_ANSWERS, ids=["defaults", "answered", "mixed"])
def test_python_project_template_is_identical(lp, tmp_path, answers):
    src = write_tree(tmp_path / "python-project", python_project_tree())
    expected = run_copier(src, tmp_path / "copier" / "rocket", answers)
    actual = render_with_launchpad(lp, src, tmp_path / "launchpad" / "rocket", answers)
    assert_same_tree(expected, actual)


PLAIN_TREE = {
    "copier.yaml": """\
_templates_suffix: ""
_envops:
  block_start_string: "[%"
  block_end_string: "%]"
  variable_start_string: "[["
  variable_end_string: "]]"
  keep_trailing_newline: false
  trim_blocks: true
name:
  default: widget
count:
  default: 3
enabled:
  default: yes
""",
    "README.md": (
        "# [[ name ]]\n[% for i in range(count) %]\n* item [[ i ]]\n[% endfor %]\n"
        "Jinja braces stay: {{ x }}\n"
    ),
    "plain.txt": "no markup, trailing newline dropped by keep_trailing_newline: false\n",
    "crlf.txt": "line one\r\nline two\r\n",
    "image.png": PNG,
    "latin1.txt": "caf\xe9\n".encode("latin-1"),
    "tool.sh": ("#!/bin/sh\necho [[ name ]]\n", 0o755),
    "[[ name ]]/[% if enabled %]on[% endif %].txt": "enabled\n",
    "[[ name ]]/[% if not enabled %]off[% endif %].txt": "disabled\n",
    "~backup.txt": "excluded by Copier's defaults\n",
    "module.pyc": b"\x00compiled",
    "__pycache__/module.cpython-311.pyc": b"\x00compiled",
    ".git/HEAD": "ref: refs/heads/main\n",
}


@pytest.mark.parametrize("answers", [{}, {"name": "gadget", "count": 1, "enabled": False}])
def test_empty_suffix_custom_syntax_template_is_identical(lp, tmp_path, answers):
    src = write_tree(tmp_path / "plain", PLAIN_TREE)
    expected = run_copier(src, tmp_path / "copier" / "out", answers)
    actual = render_with_launchpad(lp, src, tmp_path / "launchpad" / "out", answers)
    assert_same_tree(expected, actual)


# Copier skips a file whose *rendered* path has a suffixed sibling at the template
# root: `{{ name }}.txt` is shadowed by `hello.txt.jinja` only when name is hello.
SHADOW_TREE = {
    "copier.yml": "name:\n  default: hello\n",
    "hello.txt.jinja": "from the template: {{ name }}\n",
    "{{ name }}.txt": "the plain file, kept unless shadowed\n",
    "{{ name }}.md": "never shadowed: no suffixed path ends in .md\n",
    "docs/{{ name }}.txt": "shadowed by nothing at the root\n",
}


# A tail after the last tag that holds a '/' names the file: only suffixed paths
# with that last segment are candidates.
SHADOW_IN_FOLDER_TREE = {
    "copier.yml": "name:\n  default: sub\n",
    "sub/hello.txt.jinja": "from the template: {{ name }}\n",
    "{{ name }}/hello.txt": "the plain file, kept unless shadowed\n",
    "{{ name }}/other.txt": "never shadowed: no suffixed path ends in /other.txt\n",
}


@pytest.mark.parametrize("case", [  # tree, the path that may be shadowed, paths never shadowed
    (SHADOW_TREE, "{{ name }}.txt", ["{{ name }}.md", "docs/{{ name }}.txt"]),
    (SHADOW_IN_FOLDER_TREE, "{{ name }}/hello.txt", ["{{ name }}/other.txt"]),
], ids=["file", "in a folder"])
@pytest.mark.parametrize("answers", [{}, {"name": "other"}], ids=["shadowed", "not shadowed"])
def test_a_templated_path_shadowed_once_rendered_is_skipped(lp, tmp_path, case, answers):
    tree, candidate, never = case
    src = write_tree(tmp_path / "shadow", tree)
    expected = run_copier(src, tmp_path / "copier" / "out", answers)
    actual = render_with_launchpad(lp, src, tmp_path / "launchpad" / "out", answers)
    assert_same_tree(expected, actual)
    conditions = {f.path: f.when for f in lp.load(src).files}
    assert "_lp_shadowed" in str(conditions[candidate])
    for path in never:  # decided when importing: no condition
        assert conditions[path] is True


FOLDERS_COPIER_YML = """\
_subdirectory: project
_exclude: {exclude}
name:
  default: widget
extras:
  type: bool
  default: false
"""

# Static and templated folder names: empty folders, folders whose files are all
# excluded or skipped by their names, a folder named empty (skipped with what it
# holds), a suffixed folder name, and folder patterns on static and templated paths.
FOLDERS_TREE = {
    "project/README.md.jinja": "# {{ name }}\n",
    "project/empty/": None,
    "project/nested/empty/deeper/": None,
    "project/cache/module.pyc": b"\x00compiled",
    "project/build/out.txt": "build output\n",
    "project/build/sub/": None,
    "project/{{ name }}/build/log.txt": "build log\n",
    "project/{{ name }}/empty/": None,
    "project/{{ name }}/cache/module.pyc": b"\x00compiled",
    "project/conditional/{% if extras %}extra.txt{% endif %}.jinja": "extra\n",
    "project/{% if extras %}extras{% endif %}/inner/": None,
    "project/{% if extras %}extras{% endif %}/notes.txt": "notes\n",
    "project/{{ '' }}/never.txt": "never written\n",
    "project/layout.jinja/": None,
}

FOLDER_EXCLUSIONS = {
    # A folder pattern: Copier excludes what lies in build/, not build/ itself.
    "folder-pattern": '["*.pyc", "build/"]',
    # A plain pattern matches the folder too; left to the engine for templated paths.
    "plain-pattern": '["*.pyc", "build"]',
    "templated": '["*.pyc", "{% if not extras %}build/{% endif %}"]',
}


@pytest.mark.parametrize("exclude", FOLDER_EXCLUSIONS.values(), ids=FOLDER_EXCLUSIONS.keys())
@pytest.mark.parametrize("answers", [{}, {"name": "gadget", "extras": True}])
def test_folders_are_created_as_copier_creates_them(lp, tmp_path, exclude, answers):
    tree = {"copier.yml": FOLDERS_COPIER_YML.format(exclude=exclude), **FOLDERS_TREE}
    src = write_tree(tmp_path / "folders", tree)
    expected = run_copier(src, tmp_path / "copier" / "out", answers)
    actual = render_with_launchpad(lp, src, tmp_path / "launchpad" / "out", answers)
    assert_same_tree(expected, actual)
    assert all((actual / name).is_dir() for name in ("empty", "cache", "conditional", "layout"))
    assert (actual / "extras").is_dir() is answers.get("extras", False)
