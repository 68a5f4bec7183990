"""The definition the Copier importer makes of small template trees."""

from __future__ import annotations

import os

import pytest

from launchpad_core.errors import LoadError
from launchpad_core.importers.importing import detect_importer, import_template, with_destination
from launchpad_core.model.serialization import structure_template, unstructure_template
from launchpad_core.model.template import Choice, EnvOptions

from .conftest import write_tree


def imported(lp, tmp_path, tree):
    return import_template(str(write_tree(tmp_path / "tpl", tree)), "copier", launchpad=lp)


def test_questions_become_typed_variables(lp, tmp_path):
    template = imported(lp, tmp_path, {
        "copier.yml": """\
_secret_questions: [token]
name: Widget
count: 3
ratio: 0.5
enabled: true
tags: [a, b]
required_yaml:
  help: no default, no type
version:
  type: str
  default: 1.0
license:
  type: str
  help: Which license?
  choices:
    MIT License: mit
    ISC License: isc
  default: isc
numbers:
  type: int
  multiselect: true
  choices: ["1", "2", "3"]
  default: [3, "1"]
slug:
  default: "{{ name | lower }}"
  validator: "{% if ' ' in slug %}no spaces{% endif %}"
  when: "{{ enabled }}"
hidden:
  default: x
  when: "false"
token:
  default: s3cret
raw_json:
  type: json
  default: '"just a string"'
""",
    })
    by_name = {v.name: v for v in template.variables}
    assert [v.name for v in template.variables][:4] == ["name", "count", "ratio", "enabled"]
    assert (by_name["count"].type, by_name["count"].default) == ("int", 3)
    assert (by_name["ratio"].type, by_name["enabled"].type) == ("float", "bool")
    assert (by_name["tags"].type, by_name["tags"].default) == ("yaml", ["a", "b"])
    assert (by_name["required_yaml"].type, by_name["required_yaml"].default) == ("yaml", None)
    assert by_name["version"].default == "1.0"
    assert by_name["license"].type == "choice"
    assert by_name["license"].help == "Which license?"
    assert by_name["license"].choices == (
        Choice("mit", "MIT License"),
        Choice("isc", "ISC License"),
    )
    assert by_name["numbers"].type == "multichoice"
    assert [c.value for c in by_name["numbers"].choices] == [1, 2, 3]
    assert by_name["numbers"].default == [3, 1]
    assert by_name["slug"].default == "{{ name | lower }}"
    assert by_name["slug"].validator == "{% if ' ' in slug %}no spaces{% endif %}"
    assert by_name["slug"].when == "{{ enabled }}"
    assert by_name["hidden"].when is False
    assert by_name["token"].secret
    answers = lp.resolve_answers(template, {"required_yaml": "a: 1"}, from_text=True)
    assert answers["required_yaml"] == {"a": 1}
    assert answers["raw_json"] == "just a string"
    assert answers["numbers"] == [1, 3]


def test_files_follow_the_templates_suffix_and_exclusions(lp, tmp_path):
    template = imported(lp, tmp_path, {
        "copier.yml": "name: x\n",
        "README.md.jinja": "# {{ name }}\r\n",
        "README.md": "shadowed by README.md.jinja\n",
        "static.txt": "{{ copied as is }}\n",
        "tool.sh": ("#!/bin/sh\n", 0o755),
        "x.pyc": b"\x00",
        "~scratch": "excluded\n",
        ".git/config": "[core]\n",
        "{{ name }}/mod.py.jinja": "{{ name }}\n",
    })
    files = {f.path: f for f in template.files}
    # Every folder is a directory entry; .git is one of Copier's default exclusions.
    assert sorted(files) == [
        "README.md", "static.txt", "tool.sh", "{{ name }}/", "{{ name }}/mod.py"
    ]
    assert files["README.md"].content == "# {{ name }}\n" and files["README.md"].render
    assert files["static.txt"].render is False
    assert files["tool.sh"].mode == 0o755
    assert "copier.yml" in template.settings.exclude  # for paths only known once rendered
    assert template.settings.origin["format"] == "copier"


def test_subdirectory_drops_the_default_exclusions(lp, tmp_path):
    template = imported(lp, tmp_path, {
        "copier.yml": "_subdirectory: template\n_templates_suffix: .tmpl\nname: x\n",
        "docs/index.md": "template docs, not copied\n",
        "template/x.pyc": b"\x00",
        "template/a.py.tmpl": "{{ name }}\n",
        "template/b.py.jinja": "{{ name }}\n",
    })
    assert sorted(f.path for f in template.files) == ["a.py", "b.py.jinja", "x.pyc"]
    assert template.settings.exclude == ()


def test_templated_exclusions_become_conditions(lp, tmp_path):
    template = imported(lp, tmp_path, {
        "copier.yml": '_exclude: ["{% if not docker %}Dockerfile{% endif %}"]\ndocker: false\n',
        "Dockerfile": "FROM scratch\n",
        "README.md": "readme\n",
    })
    assert all("copier_path_excluded" in f.when for f in template.files)
    # As in Copier, an _exclude of its own replaces the default one (copier.yml is copied).
    with_docker = ["Dockerfile", "README.md", "copier.yml"]
    for docker, expected in ((False, with_docker[1:]), (True, with_docker)):
        answers = lp.resolve_answers(template, {"docker": docker})
        assert [f.path for f in lp.render(template, answers)] == expected


def test_envops_and_code_are_recorded(lp, tmp_path):
    template = imported(lp, tmp_path, {
        "copier.yml": """\
_envops:
  variable_start_string: "[["
  variable_end_string: "]]"
  undefined: jinja2.StrictUndefined
_jinja_extensions: [jinja2_time.TimeExtension]
_tasks:
  - git init
  - command: [echo, hi]
    when: false
_migrations:
  - version: v2
    command: echo migrate
name: x
""",
        "a.txt.jinja": "[[ name ]]\n",
    })
    settings = template.settings
    assert settings.envops == EnvOptions(
        variable_start_string="[[", variable_end_string="]]", strict_undefined=True
    )
    assert settings.jinja_extensions == ("jinja2_time.TimeExtension",)
    assert [(t["stage"], t.get("command")) for t in settings.tasks] == [
        ("after", "git init"), ("after", ["echo", "hi"]), ("migration", None)
    ]
    assert settings.tasks[1]["when"] is False
    assert settings.tasks[0]["env"] == {"STAGE": "task", "COPIER_OPERATION": "copy"}


def test_default_envops_are_lenient_like_copier(lp, tmp_path):
    template = imported(lp, tmp_path, {"copier.yml": "name: x\n", "a.txt.jinja": "[{{ nope }}]\n"})
    assert template.settings.envops.strict_undefined is False
    files = lp.render(template, lp.resolve_answers(template, {}))
    assert files[0].data == b"[]\n"


def test_definition_survives_json(lp, tmp_path):
    template = imported(lp, tmp_path, {
        "copier.yml": "_tasks: [ls]\nname: x\nn: 2\n",
        "{{ name }}.bin": bytes(range(256)),
        "a.txt.jinja": "{{ n }}\n",
    })
    assert structure_template(unstructure_template(template)) == template


def test_folder_name_is_bound_to_the_destination(lp, tmp_path):
    template = imported(lp, tmp_path, {
        "copier.yml": 'project:\n  default: "{{ _folder_name }}"\n',
        "README.md.jinja": "{{ project }} in {{ _folder_name }}\n",
    })
    assert template.variables[0].name == "_folder_name"
    bound = with_destination(template, tmp_path / "rocket-app", launchpad=lp)
    answers = lp.resolve_answers(bound, {})
    assert answers["project"] == "rocket-app"
    assert lp.render(bound, answers)[0].data == b"rocket-app in rocket-app\n"


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        ({"copier.yml": "x:\n  type: '{{ t }}'\n"}, "templated type"),
        ({"copier.yml": "_subdirectory: '{{ s }}'\n"}, "a _subdirectory chosen by the answers"),
        ({"copier.yml": "_subdirectory: nowhere\n"}, "not a folder"),
        ({"copier.yml": "_external_data: {a: b.yml}\n"}, "_external_data"),
        ({"copier.yml": "_envops: {autoescape: true}\n"}, "autoescape"),
        ({"copier.yml": "x: 1\n", "{% yield i from items %}{{ i }}{% endyield %}.txt": ""},
         "yield"),
        ({"copier.yml": "x: 1\n", "bad.txt.jinja": b"\xff\xfe"}, "not UTF-8"),
        ({"copier.yml": "now: 1\n"}, "not a valid Copier question name"),
        ({"copier.yml": "s:\n  secret: true\n"}, "needs a default"),
        ({"copier.yml": "x: [\n"}, "not valid"),
        ({"copier.yml": "x: 1\n", "copier.yaml": "y: 2\n"}, "more than one"),
    ],
)
def test_what_cannot_be_imported_says_why(lp, tmp_path, tree, message):
    with pytest.raises(LoadError, match=message):
        imported(lp, tmp_path, tree)


def test_links_outside_the_template_are_refused(lp, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("secret\n")
    src = write_tree(tmp_path / "tpl", {"copier.yml": "x: 1\n"})
    os.symlink(outside, src / "leak.txt")
    with pytest.raises(LoadError, match="outside the template"):
        import_template(str(src), launchpad=lp)


def test_include_tag_reads_other_yaml_files(lp, tmp_path):
    template = imported(lp, tmp_path, {
        "copier.yml": "---\n!include questions/*.yml\n---\n_exclude: [a.txt]\n",
        "questions/one.yml": "first: 1\n",
        "a.txt": "a\n",
        "b.txt": "b\n",
    })
    assert [v.name for v in template.variables] == ["first"]
    assert [f.path for f in template.files] == [
        "b.txt", "copier.yml", "questions/", "questions/one.yml"
    ]


@pytest.mark.parametrize(("text", "message"), [
    ("a: !include ../outside.yml\n", "includes a file outside the template directory"),
    ("a: !include /etc/hostname\n", "a YAML include path must be relative"),
    ("a: !!python/object/apply:os.system [echo]\n", "could not determine a constructor"),
    ("a: [1,\n", "not valid YAML"),
])
def test_copier_yml_is_read_safely_within_the_template(lp, tmp_path, text, message):
    """libyaml's parser where PyYAML has it: the same safe constructors and the same
    confined ``!include`` as the pure-Python loader, and the same one-line errors."""
    (tmp_path / "outside.yml").write_text("secret: 1\n")
    with pytest.raises(LoadError, match=message) as info:
        imported(lp, tmp_path, {"copier.yml": text})
    assert "\n" not in str(info.value)


def test_detection(lp, tmp_path):
    copier_dir = write_tree(tmp_path / "c", {"copier.yaml": "x: 1\n"})
    other = write_tree(tmp_path / "o", {"README.md": "hi\n"})
    assert detect_importer(copier_dir, launchpad=lp).name == "copier"
    assert detect_importer(other, launchpad=lp) is None
    assert detect_importer(copier_dir / "copier.yaml", launchpad=lp) is None
