"""The ``editorconfig`` generator: an .editorconfig (https://editorconfig.org)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from launchpad_core import Answers, FileSpec
from launchpad_core.plugins.generators import FileGenerator

from .options import Options

INDENT_STYLES = ("space", "tab")

OPTIONS = {
    "indent_style": "space or tab (default: space).",
    "indent_size": "Columns per indent level (default: 4).",
    "max_line_length": "Longest line, in columns, or off (default: off).",
    "path": "Where the file goes (default: .editorconfig).",
}


def editorconfig(*, indent_style: str, indent_size: int, max_line_length: int | None) -> str:
    lines = [
        "# EditorConfig: https://editorconfig.org",
        "root = true",
        "",
        "[*]",
        "charset = utf-8",
        "end_of_line = lf",
        "insert_final_newline = true",
        "trim_trailing_whitespace = true",
        f"indent_style = {indent_style}",
        f"indent_size = {indent_size}",
        f"max_line_length = {max_line_length or 'off'}",
        "",
        "[*.md]",
        "trim_trailing_whitespace = false",
        "",
        "[Makefile]",
        "indent_style = tab",
    ]
    return "\n".join(lines) + "\n"


def generate(options: Mapping[str, Any], answers: Answers) -> list[FileSpec]:
    opts = Options.read(options, OPTIONS)
    max_line_length = None
    if opts.text("max_line_length", "off").lower() != "off":
        max_line_length = opts.positive_int("max_line_length", 100)
    content = editorconfig(
        indent_style=opts.one_of("indent_style", INDENT_STYLES, "space"),
        indent_size=opts.positive_int("indent_size", 4),
        max_line_length=max_line_length,
    )
    return [FileSpec(path=opts.text("path", ".editorconfig"), content=content, render=False)]


GENERATOR = FileGenerator(
    name="editorconfig",
    description="An .editorconfig with the indentation and line length of the project.",
    generate=generate,
    options=OPTIONS,
)
