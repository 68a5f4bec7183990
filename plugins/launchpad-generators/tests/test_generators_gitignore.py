"""The ``gitignore`` generator: known blocks, fixed order, each pattern once."""

from __future__ import annotations

import pytest
from launchpad_core import Answers

from launchpad_generators.gitignore import BLOCKS, GENERATOR


def gitignore(languages: str | list[str]) -> str:
    [spec] = GENERATOR.generate({"languages": languages}, Answers())
    assert spec.path == ".gitignore"
    return spec.content


def patterns(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_the_order_asked_for_does_not_matter() -> None:
    assert gitignore("macos, python") == gitignore("python,macos") == gitignore("Python, MacOS")
    assert gitignore(["python", "macos"]) == gitignore("python, macos")


def test_blocks_are_written_in_their_fixed_order() -> None:
    text = gitignore(",".join(reversed(BLOCKS)))
    headers = [line for line in text.splitlines() if line.startswith("# ")]
    assert headers == ["# Python", "# Node", "# Go", "# Rust", "# Java", "# macOS", "# Windows",
                       "# JetBrains IDEs", "# Visual Studio Code"]


def test_each_pattern_is_written_once() -> None:
    text = gitignore(",".join(BLOCKS))
    found = patterns(text)
    assert len(found) == len(set(found))
    node = text.split("# Node\n")[1].split("\n\n")[0]
    assert "dist/" not in node.splitlines()  # already in the Python block
    assert "node_modules/" in node.splitlines()


def test_repeated_languages_count_once() -> None:
    assert gitignore("go, go,, go") == gitignore("go")
    assert gitignore("rust").startswith("# Rust\ndebug/\ntarget/\n")


def test_well_known_patterns() -> None:
    assert {"__pycache__/", ".venv/"} <= set(patterns(gitignore("python")))
    assert {".DS_Store", "Thumbs.db", ".idea/", ".vscode/*", "!.vscode/settings.json"} <= set(
        patterns(gitignore("macos, windows, jetbrains, vscode"))
    )


@pytest.mark.parametrize(("languages", "message"), [
    ("", "give at least one language"),
    (" , ", "give at least one language"),
    ("python, cobol", "unknown language 'cobol'"),
])
def test_bad_languages(languages: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gitignore(languages)
