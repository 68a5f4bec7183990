"""The ``gitignore`` generator: a .gitignore from well-known blocks.

Blocks are written in one fixed order whatever the order asked for, and a
pattern an earlier block already wrote is left out of the later ones, so the
same languages always give the same file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from launchpad_core import Answers, FileSpec
from launchpad_core.plugins.generators import FileGenerator

from .data import read_text
from .options import Options

#: Every block, in the order they are written.
BLOCKS = ("python", "node", "go", "rust", "java", "macos", "windows", "jetbrains", "vscode")

OPTIONS = {
    "languages": f"Comma-separated blocks to combine: {', '.join(BLOCKS)}.",
    "path": "Where the file goes (default: .gitignore).",
}


def gitignore(blocks: list[str]) -> str:
    """The combined text of ``blocks`` (names from :data:`BLOCKS`, in any case)."""
    if not blocks:
        raise ValueError(f"give at least one language (supported: {', '.join(BLOCKS)})")
    unknown = [name for name in blocks if name.lower() not in BLOCKS]
    if unknown:
        raise ValueError(f"unknown language {unknown[0]!r} (supported: {', '.join(BLOCKS)})")
    asked = {name.lower() for name in blocks}
    chosen = [name for name in BLOCKS if name in asked]
    return "\n".join(_deduplicated(chosen))


def _deduplicated(chosen: list[str]) -> Iterator[str]:
    seen: set[str] = set()
    for name in chosen:
        lines = read_text("gitignore", f"{name}.gitignore").splitlines()
        patterns = [line for line in lines if not line.startswith("#") and line not in seen]
        if not patterns:
            continue
        seen.update(patterns)
        comments = [line for line in lines if line.startswith("#")]
        yield "\n".join([*comments, *patterns]) + "\n"


def generate(options: Mapping[str, Any], answers: Answers) -> list[FileSpec]:
    opts = Options.read(options, OPTIONS)
    content = gitignore(opts.listed("languages"))
    return [FileSpec(path=opts.text("path", ".gitignore"), content=content, render=False)]


GENERATOR = FileGenerator(
    name="gitignore",
    description="A .gitignore combining well-known blocks for languages, systems and editors.",
    generate=generate,
    options=OPTIONS,
)
