"""Template definitions: strict structuring, semantic checks with JSON paths,
and the round trip through the converter."""

from __future__ import annotations

from typing import Any

import pytest

from launchpad_core import DefinitionError, Launchpad, Template
from launchpad_core.model.serialization import structure_template, unstructure_template

from .conftest import definition


def structure_problems(data: Any) -> list[tuple[str, str]]:
    """(path, message) of every problem the converter finds."""
    with pytest.raises(DefinitionError) as info:
        structure_template(data)
    assert {p.code for p in info.value.problems} <= {"structure", "type"}
    return [(p.path, p.message) for p in info.value.problems]


def check_problems(lp: Launchpad, data: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, code) of every semantic problem of a definition that structures."""
    return [(p.path, p.code) for p in lp.problems(structure_template(data))]


# Structuring is strict ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (definition("a", "b", "c", {"path": 5}), [("$.files[3].path", "expected string, got int")]),
        (definition({"path": "a", "render": "yes"}),
         [("$.files[0].render", "expected boolean, got str")]),
        (definition(variables=[{"name": "x", "secret": "true"}]),
         [("$.variables[0].secret", "expected boolean, got str")]),
        (definition(variables=[{"name": "x", "secret": 1}]),
         [("$.variables[0].secret", "expected boolean, got int")]),
        (definition(settings={"envops": {"trim_blocks": 1}}),
         [("$.settings.envops.trim_blocks", "expected boolean, got int")]),
        ({"name": 5}, [("$.name", "expected string, got int")]),
        ({"name": "t", "version": 1.0}, [("$.version", "expected string, got float")]),
        (definition({"path": "a", "extra": 1}),
         [("$.files[0].extra", "unknown or forbidden field 'extra'")]),
        ({"name": "t", "bogus": 1}, [("$.bogus", "unknown or forbidden field 'bogus'")]),
        (definition(settings={"exclude": "*.pyc"}),  # not the globs '*', '.', 'p' ...
         [("$.settings.exclude", "expected list, got str")]),
        ({"name": "t", "files": "ab"}, [("$.files", "expected list, got str")]),
        (definition(settings={"exclude": ["a", 3]}),
         [("$.settings.exclude[1]", "expected string, got int")]),
        (definition(settings={"origin": [["a", 1]]}),
         [("$.settings.origin", "expected a mapping")]),
        (definition(variables=[{"name": "c", "choices": [{"value": 1, "lbl": "x"}]}]),
         [("$.variables[0].choices[0]", "a choice object has 'value' and optionally 'label'")]),
        (definition(variables=[{"name": "c", "choices": [{"value": 1, "label": 2}]}]),
         [("$.variables[0].choices[0]", "a choice label must be a string")]),
        (definition({"path": "a", "encoding": "latin-1"}), [("$.files[0].encoding", None)]),
        ([], [("$", "a template definition is a JSON object")]),
        ({}, [("$.name", "this field is required")]),
    ],
)
def test_structuring_is_strict(data: Any, expected: list[tuple[str, str | None]]) -> None:
    found = structure_problems(data)
    assert [path for path, _ in found] == [path for path, _ in expected]
    for (_, message), (_, wanted) in zip(found, expected, strict=True):
        if wanted is not None:
            assert message == wanted


def test_every_structuring_error_is_reported_at_once() -> None:
    data = definition(
        {"path": 1}, {"path": "b", "when": 3}, {"path": "c", "mode": "9"},
        variables=[{"name": "x", "help": None}],
    )
    assert [path for path, _ in structure_problems(data)] == [
        "$.variables[0].help", "$.files[0].path", "$.files[1].when", "$.files[2].mode",
    ]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("0755", 0o755), ("755", 0o755), ("0o644", 0o644), ("0O600", 0o600), (493, 0o755),
     (0, 0), (None, None)],
)
def test_modes_as_octal_text_or_int(mode: Any, expected: int | None) -> None:
    template = structure_template(definition({"path": "a", "mode": mode}))
    assert template.files[0].mode == expected


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("9", "mode '9' is not an octal number"),
        ("", "mode '' is not an octal number"),
        ("rwx", "mode 'rwx' is not an octal number"),
        (True, "mode must be an octal string or an integer"),
        (7.5, "mode must be an octal string or an integer"),
        (0o10000, "mode must be between 0 and 0o7777"),
        (-1, "mode must be between 0 and 0o7777"),
    ],
)
def test_bad_modes(mode: Any, message: str) -> None:
    assert structure_problems(definition({"path": "a", "mode": mode})) == [
        ("$.files[0].mode", message),
    ]


# Semantic checks ------------------------------------------------------------------------


def test_every_semantic_problem_has_its_path(lp: Launchpad) -> None:
    data = definition(
        "{{ x",
        {"path": "ok", "content": "{% for %}"},
        {"path": "bin", "encoding": "base64", "content": "!!!"},
        "../evil",
        "/abs",
        {"path": "ok2", "when": "{{ x"},
        "ok",
        "",
        {"path": "w", "when": "x ==="},
        variables=[
            {"name": "x"},
            {"name": "x"},
            {"name": "y", "type": "weird"},
            {"name": "c", "type": "choice"},
            {"name": "p", "pattern": "("},
            {"name": "v", "validator": "{% if %}"},
            {"name": "w", "when": "x ==="},
            {"name": "d", "type": "int", "default": "abc"},
            {"name": "e", "default": "{{ x "},
            {"name": "9bad"},
            {"name": "b", "type": "bool", "default": 3},
            {"name": "dup", "type": "choice", "choices": ["a", "a"]},
        ],
        settings={"generators": {"nope": {}}, "context_name": "x", "answers_file": "{{ bad"},
    )
    assert check_problems(lp, data) == [
        ("$.variables[1]", "duplicate"),
        ("$.variables[2].type", "unknown_type"),
        ("$.variables[3].choices", "required"),
        ("$.variables[4].pattern", "invalid_pattern"),
        ("$.variables[5].validator", "template_syntax"),
        ("$.variables[6].when", "template_syntax"),
        ("$.variables[7].default", "invalid_default"),
        ("$.variables[8].default", "template_syntax"),
        ("$.variables[9].name", "invalid_name"),
        ("$.variables[10].default", "invalid_default"),
        ("$.variables[11].choices", "duplicate"),
        ("$.files[0].path", "template_syntax"),
        ("$.files[1].content", "template_syntax"),
        ("$.files[2].content", "invalid_base64"),
        ("$.files[3].path", "unsafe_path"),
        ("$.files[4].path", "unsafe_path"),
        ("$.files[5].when", "template_syntax"),
        ("$.files[6]", "duplicate"),
        ("$.files[7].path", "required"),
        ("$.files[8].when", "template_syntax"),
        ("$.settings.generators.nope", "unknown_generator"),
        ("$.settings.context_name", "duplicate"),
        ("$.settings.answers_file", "template_syntax"),
    ]


def test_semantic_messages_say_what_is_wrong(lp: Launchpad) -> None:
    data = definition(variables=[{"name": "y", "type": "weird"}, {"name": "n", "type": "int",
                                                                  "default": "abc"}])
    messages = {p.path: p.message for p in lp.problems(structure_template(data))}
    assert messages["$.variables[0].type"].startswith("unknown type 'weird' (known: bool, ")
    assert messages["$.variables[1].default"] == (
        "the default does not fit: 'abc' is not a whole number"
    )


@pytest.mark.parametrize(
    "path", ["a/../../b", "C:/x", "a\\b", "con.txt", "a\x00b", "name. ", "//server/share"]
)
def test_unsafe_static_paths_are_definition_problems(lp: Launchpad, path: str) -> None:
    assert check_problems(lp, definition(path)) == [("$.files[0].path", "unsafe_path")]


def test_structure_raises_with_every_problem(lp: Launchpad) -> None:
    with pytest.raises(DefinitionError) as info:
        lp.structure(definition("../a", variables=[{"name": "a", "type": "zz"}]))
    assert [p.path for p in info.value.problems] == ["$.variables[0].type", "$.files[0].path"]
    assert info.value.code == "invalid_definition"


def test_a_directory_entry_has_no_content(lp: Launchpad) -> None:
    data = definition("empty/", "{{ x }}/", {"path": "full/", "content": "text"})
    assert check_problems(lp, data) == [("$.files[2].content", "directory_content")]


def test_a_valid_definition_has_no_problems(lp: Launchpad) -> None:
    data = definition(
        {"path": "{{ name }}/{% if docker %}Dockerfile{% endif %}", "content": "FROM {{ name }}"},
        {"path": "logo.png", "encoding": "base64", "content": "iVBORw=="},
        variables=[{"name": "name"}, {"name": "docker", "type": "bool", "default": "{{ true }}"}],
        settings={"answers_file": ".answers-{{ name }}.yml", "context_name": "ctx"},
    )
    assert check_problems(lp, data) == []


# Round trip ------------------------------------------------------------------------------

FULL = {
    "name": "full",
    "version": "1.2.3",
    "description": "every field",
    "variables": [
        {"name": "c", "type": "choice", "choices": ["a", {"value": "b", "label": "B"}],
         "default": "a", "help": "pick", "when": "true"},
        {"name": "n", "type": "int", "default": 3, "pattern": "[0-9]+",
         "validator": "{% if n > 9 %}big{% endif %}"},
        {"name": "tok", "secret": True},
        {"name": "d", "type": "json", "choices": [{"value": {"k": 1}, "label": None}]},
    ],
    "files": [
        {"path": "x.sh", "content": "hi", "mode": "0755", "skip_if_exists": True},
        {"path": "b.bin", "content": "AAEC", "encoding": "base64", "render": False},
        {"path": "c.txt", "when": False},
    ],
    "settings": {
        "copy_without_render": ["*.j2"], "exclude": ["*.pyc"], "skip_if_exists": ["a"],
        "envops": {"trim_blocks": True, "line_statement_prefix": "%%"},
        "answers_file": ".a.yml", "context_name": "cookiecutter", "origin": {"format": "x"},
    },
    "$schema": "https://launchpad.dev/schema/template.json",
}


def test_round_trip_structure_unstructure_structure() -> None:
    template = structure_template(FULL)
    data = unstructure_template(template)
    assert structure_template(data) == template
    assert data == FULL


def test_unstructuring_leaves_defaults_out_but_keeps_the_name() -> None:
    assert unstructure_template(Template(name="bare")) == {"name": "bare"}


def test_an_int_mode_comes_back_as_octal_text() -> None:
    data = unstructure_template(structure_template(definition({"path": "a", "mode": 493})))
    assert data["files"] == [{"path": "a", "mode": "0755"}]
