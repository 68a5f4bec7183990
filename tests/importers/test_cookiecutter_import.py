"""The definition the Cookiecutter importer makes of small template trees."""

from __future__ import annotations

import json
import re

import pytest

from launchpad_core.errors import AnswersError, LoadError
from launchpad_core.importers.importing import detect_importer, import_template
from launchpad_core.model.template import Choice, EnvOptions

from .conftest import write_tree

PROJECT = "{{ cookiecutter.slug }}"


def imported(lp, tmp_path, context, files=None, **extra):
    tree = {"cookiecutter.json": json.dumps(context), f"{PROJECT}/a.txt": "a\n"}
    tree.update({f"{PROJECT}/{k}": v for k, v in (files or {}).items()})
    tree.update(extra)
    return import_template(str(write_tree(tmp_path / "tpl", tree)), "cookiecutter", launchpad=lp)


def test_context_becomes_variables_in_cookiecutter_order(lp, tmp_path):
    template = imported(lp, tmp_path, {
        "name": "Widget",
        "meta": {"year": 2024, "owner": "{{ cookiecutter.name }}"},
        "slug": "{{ cookiecutter.name | lower }}",
        "count": 3,
        "license": ["MIT", "BSD", 3],
        "docker": True,
        "nothing": None,
        "_private": "{{ raw }}",
        "_list": [1, 2],
        "__upper": "{{ cookiecutter.name | upper }}",
        "__prompts__": {
            "name": "Project name?",
            "license": {"__prompt__": "License?", "MIT": "MIT!"},
        },
    })
    names = [v.name for v in template.variables]
    assert names == [
        "name", "slug", "count", "license", "docker", "nothing", "_private", "_list", "__upper",
        "meta",
    ]
    by_name = {v.name: v for v in template.variables}
    assert by_name["name"].help == "Project name?"
    assert (by_name["count"].type, by_name["count"].default) == ("str", "3")
    assert by_name["license"].type == "choice"
    assert by_name["license"].help == "License?"
    assert by_name["license"].choices == (Choice("MIT", "MIT!"), Choice("BSD"), Choice("3"))
    assert (by_name["docker"].type, by_name["docker"].default) == ("bool", True)
    assert by_name["nothing"].when is False
    assert by_name["_private"].when is False and by_name["__upper"].when is False
    assert by_name["meta"].type == "cookiecutter_dict"
    assert template.settings.context_name == "cookiecutter"
    answers = lp.resolve_answers(template, {"name": "Gizmo"})
    assert answers["slug"] == "gizmo"
    assert answers["_private"] == "{{ raw }}"
    assert answers["_list"] == [1, 2]
    assert answers["__upper"] == "GIZMO"
    assert answers["meta"] == {"year": "2024", "owner": "Gizmo"}
    assert answers["license"] == "MIT"


def test_files_keep_the_project_folder_and_cookiecutter_rules(lp, tmp_path):
    template = imported(
        lp,
        tmp_path,
        {"slug": "demo", "_copy_without_render": ["*.html", "assets"], "_new_lines": "\r\n"},
        {
            "page.html": "<p>{{ x }}</p>\n",
            "assets/{{ raw }}.css": "{{ raw }}\n",
            "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00",
            "LICENSE": "Copyright {% now 'utc', '%Y' %}\n",
            "run.sh": ("#!/bin/sh\n", 0o755),
        },
    )
    files = {f.path: f for f in template.files}
    assert sorted(files) == [
        f"{PROJECT}/",
        f"{PROJECT}/LICENSE",
        f"{PROJECT}/a.txt",
        f"{PROJECT}/assets/",
        f"{PROJECT}/assets/{{{{ '{{{{ raw }}}}.css' }}}}",
        f"{PROJECT}/logo.png",
        f"{PROJECT}/page.html",
        f"{PROJECT}/run.sh",
    ]
    assert files[f"{PROJECT}/page.html"].render is False
    assert files[f"{PROJECT}/logo.png"].is_binary
    assert files[f"{PROJECT}/run.sh"].mode == 0o755
    assert files[f"{PROJECT}/a.txt"].content == "a\r\n"
    assert "cookiecutter_now('utc', '%Y')" in files[f"{PROJECT}/LICENSE"].content
    assert "replace('\\n', '\\r\\n')" in files[f"{PROJECT}/LICENSE"].content
    answers = lp.resolve_answers(template, {})
    rendered = {f.path: f.data for f in lp.render(template, answers)}
    assert rendered["demo/assets/{{ raw }}.css"] == b"{{ raw }}\n"
    assert re.fullmatch(rb"Copyright 2\d{3}\r\n", rendered["demo/LICENSE"])


def test_hooks_and_extensions_are_recorded(lp, tmp_path):
    template = imported(
        lp,
        tmp_path,
        {"slug": "demo", "_extensions": ["local.Ext"], "_jinja2_env_vars": {"lstrip_blocks": True}},
        **{
            "hooks/post_gen_project.sh": "#!/bin/sh\necho {{ cookiecutter.slug }}\n",
            "local.py": "EXT = 1\n",
        },
    )
    settings = template.settings
    assert settings.envops == EnvOptions(lstrip_blocks=True)
    assert settings.jinja_extensions == ("local.Ext",)
    assert settings.tasks == (
        {"stage": "after", "script": "hooks/post_gen_project.sh", "working_directory": PROJECT},
    )
    assert [f.path for f in settings.code_files] == ["hooks/post_gen_project.sh", "local.py"]


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        ({"cookiecutter.json": "{"}, "not valid JSON"),
        ({"cookiecutter.json": "[1]"}, "must hold an object"),
        ({"cookiecutter.json": json.dumps({"template": ["a (./a)"]})}, "nested templates"),
        ({"cookiecutter.json": "{}", "project/a.txt": "a"}, "no project folder"),
        (
            {"cookiecutter.json": json.dumps({"project-name": "x"}), f"{PROJECT}/a": "a"},
            "not a variable name",
        ),
        ({"cookiecutter.json": json.dumps({"c": []}), f"{PROJECT}/a": "a"}, "no options"),
        (
            {"cookiecutter.json": json.dumps({"_jinja2_env_vars": {"autoescape": True}}),
             f"{PROJECT}/a": "a"},
            "autoescape",
        ),
        ({"cookiecutter.json": "{}", f"{PROJECT}/bad.txt": b"caf\xe9 {{ x }}\n"}, "not UTF-8"),
    ],
)
def test_what_cannot_be_imported_says_why(lp, tmp_path, tree, message):
    src = write_tree(tmp_path / "tpl", tree)
    with pytest.raises(LoadError, match=message):
        import_template(str(src), "cookiecutter", launchpad=lp)


def test_detection(lp, tmp_path):
    src = write_tree(tmp_path / "cc", {"cookiecutter.json": "{}"})
    assert detect_importer(src, launchpad=lp).name == "cookiecutter"


def test_a_dictionary_answer_is_merged_into_the_rendered_default(lp, tmp_path):
    template = imported(lp, tmp_path, {
        "name": "Widget",
        "meta": {"owner": "{{ cookiecutter.name }}", "flags": {"ci": True, "docs": False}},
    })
    merged = lp.resolve_answers(template, {"meta": {"flags": {"ci": "off"}, "year": 2024}})
    assert merged["meta"] == {"owner": "Widget", "flags": {"ci": False, "docs": False},
                              "year": "2024"}
    text = lp.resolve_answers(template, {"meta": '{"owner": "me"}'}, from_text=True)
    assert text["meta"]["owner"] == "me" and text["meta"]["flags"] == {"ci": True, "docs": False}
    with pytest.raises(AnswersError) as info:
        lp.resolve_answers(template, {"meta": {"flags": {"ci": "maybe"}}})
    assert [(p.path, p.code) for p in info.value.problems] == [("$.meta", "invalid_type")]
    with pytest.raises(AnswersError) as info:
        lp.resolve_answers(template, {"meta": ["not", "a", "dict"]})
    assert "expected an object" in info.value.problems[0].message
