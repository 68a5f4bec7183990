"""The ``github-actions`` generator: valid YAML with the asked-for matrix."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from launchpad_core import Answers

from launchpad_generators.github_actions import GENERATOR


def workflow(**options: str) -> dict[str, Any]:
    [spec] = GENERATOR.generate(options, Answers())
    assert spec.path == options.get("path", ".github/workflows/ci.yml")
    return yaml.safe_load(spec.content)


def steps(data: dict[str, Any]) -> list[dict[str, Any]]:
    return data["jobs"]["test"]["steps"]


def test_python_matrix_keeps_versions_as_strings() -> None:
    data = workflow(language="python", versions="3.10, 3.11,3.12", test_command="pytest -q")
    assert data["jobs"]["test"]["strategy"]["matrix"] == {
        "python-version": ["3.10", "3.11", "3.12"],
    }
    assert steps(data)[0] == {"uses": "actions/checkout@v4"}
    assert steps(data)[1] == {
        "uses": "actions/setup-python@v5",
        "with": {"python-version": "${{ matrix.python-version }}"},
    }
    assert steps(data)[-1] == {"name": "Test", "run": "pytest -q"}
    assert data[True] == {"push": {"branches": ["main"]}, "pull_request": None}  # YAML 1.1 "on"


def test_node() -> None:
    data = workflow(language="node", versions="20.x, lts/*", branches="main, release")
    assert data["jobs"]["test"]["strategy"]["matrix"] == {"node-version": ["20.x", "lts/*"]}
    assert steps(data)[1]["with"] == {"node-version": "${{ matrix.node-version }}", "cache": "npm"}
    assert [s.get("run") for s in steps(data)[2:]] == ["npm ci", "npm test"]
    assert data[True]["push"] == {"branches": ["main", "release"]}


def test_defaults() -> None:
    data = workflow()
    assert data["jobs"]["test"]["strategy"]["matrix"] == {
        "python-version": ["3.11", "3.12", "3.13"],
    }
    assert steps(data)[-1]["run"] == "pytest"


@pytest.mark.parametrize("command", [
    'echo "a: b" # not a comment',
    "- looks like a list",
    "{looks: like a mapping}",
    "make lint\nmake test",
    "tox -e py  \n  && echo done",
    "'quoted' \"twice\"",
])
def test_any_command_reads_back_unchanged(command: str) -> None:
    assert steps(workflow(test_command=command))[-1]["run"].strip() == command.strip()


@pytest.mark.parametrize(("options", "message"), [
    ({"language": "ruby"}, "language 'ruby' is not supported"),
    ({"versions": "3.12, 3.13]"}, "'3.13]' is not a version"),
    ({"test_command": "pytest\x85  - run: evil"}, "test_command holds control characters"),
    ({"install_command": "pip install .\u2028x: y"}, "install_command holds control characters"),
])
def test_bad_options(options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GENERATOR.generate(options, Answers())
