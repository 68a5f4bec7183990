"""The ``editorconfig`` generator."""

from __future__ import annotations

import configparser

import pytest
from launchpad_core import Answers

from launchpad_generators.editorconfig import GENERATOR


def editorconfig(**options: object) -> configparser.ConfigParser:
    [spec] = GENERATOR.generate(options, Answers())
    assert spec.path == options.get("path", ".editorconfig")
    parser = configparser.ConfigParser()
    parser.read_string("[top]\n" + spec.content)  # the preamble holds root = true
    return parser


def test_defaults() -> None:
    config = editorconfig()
    assert config["top"]["root"] == "true"
    assert dict(config["*"]) == {
        "charset": "utf-8", "end_of_line": "lf", "insert_final_newline": "true",
        "trim_trailing_whitespace": "true", "indent_style": "space", "indent_size": "4",
        "max_line_length": "off",
    }
    assert config["Makefile"]["indent_style"] == "tab"


def test_options_from_yaml_may_be_numbers() -> None:
    config = editorconfig(indent_style="TAB", indent_size=8, max_line_length=120)
    assert (config["*"]["indent_style"], config["*"]["indent_size"]) == ("tab", "8")
    assert config["*"]["max_line_length"] == "120"


def test_another_path() -> None:
    assert editorconfig(path="config/.editorconfig", max_line_length="off")


@pytest.mark.parametrize(("options", "message"), [
    ({"indent_style": "tabs"}, "indent_style 'tabs' is not supported"),
    ({"indent_size": "0"}, "indent_size must be a whole number above 0"),
    ({"indent_size": "²"}, "indent_size must be a whole number above 0"),
    ({"max_line_length": "-1"}, "max_line_length must be a whole number above 0"),
    ({"indent": "2"}, "unknown option 'indent'"),
])
def test_bad_options(options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GENERATOR.generate(options, Answers())
