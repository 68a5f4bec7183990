"""The ``github-actions`` generator: a CI workflow testing a version matrix.

The workflow is written as text, to read like a hand-written one; versions
are quoted (``"3.10"`` must not become the number 3.1) and a command that
plain YAML would misread is written as a literal block.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
from launchpad_core import Answers, FileSpec
from launchpad_core.plugins.generators import FileGenerator

from .options import Options

_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.*/+_-]*")
_BREAKING = frozenset({"Cc", "Zl", "Zp"})


@attrs.frozen
class Toolchain:
    """How one language is set up and tested on GitHub Actions."""

    action: str
    version_key: str
    versions: str
    install: str
    test: str
    cache: str | None = None


TOOLCHAINS = {
    "python": Toolchain(
        action="actions/setup-python@v5",
        version_key="python-version",
        versions="3.11, 3.12, 3.13",
        install="python -m pip install --upgrade pip\npython -m pip install -e . pytest",
        test="pytest",
    ),
    "node": Toolchain(
        action="actions/setup-node@v4",
        version_key="node-version",
        versions="20, 22",
        install="npm ci",
        test="npm test",
        cache="npm",
    ),
}

OPTIONS = {
    "language": f"The toolchain: {', '.join(TOOLCHAINS)} (default: python).",
    "versions": "Comma-separated versions to test on (default: the supported releases).",
    "test_command": "The test command (default: pytest, or npm test).",
    "install_command": "What installs the project (default: pip install -e ., or npm ci).",
    "branches": "Comma-separated branches whose pushes run the workflow (default: main).",
    "path": "Where the file goes (default: .github/workflows/ci.yml).",
}


def workflow(
    toolchain: Toolchain, *, versions: list[str], install: str, test: str, branches: list[str]
) -> str:
    key = toolchain.version_key
    cache = [f"          cache: {toolchain.cache}"] if toolchain.cache else []
    lines = [
        "name: CI",
        "",
        "on:",
        "  push:",
        f"    branches: {_flow(branches)}",
        "  pull_request:",
        "",
        "jobs:",
        "  test:",
        "    runs-on: ubuntu-latest",
        "    strategy:",
        "      fail-fast: false",
        "      matrix:",
        f"        {key}: {_flow(versions)}",
        "    steps:",
        "      - uses: actions/checkout@v4",
        f"      - uses: {toolchain.action}",
        "        with:",
        f"          {key}: ${{{{ matrix.{key} }}}}",
        *cache,
        "      - name: Install",
        *_run(install),
        "      - name: Test",
        *_run(test),
    ]
    return "\n".join(lines) + "\n"


def _flow(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(item) for item in items) + "]"


def _run(command: str) -> Iterator[str]:
    """A ``run:`` key: plain when YAML reads the command back unchanged, else a block."""
    if "\n" not in command and _reads_back(command):
        yield f"        run: {command}"
        return
    yield "        run: |"
    for line in command.splitlines():
        yield f"          {line}" if line.strip() else ""


def _reads_back(command: str) -> bool:
    import yaml  # here, not at import: the plugin loads on every command

    try:
        return yaml.safe_load(f"run: {command}") == {"run": command}
    except yaml.YAMLError:
        return False


def _versions(opts: Options, toolchain: Toolchain) -> list[str]:
    versions = opts.listed("versions", toolchain.versions)
    for version in versions:
        if not _VERSION.fullmatch(version):
            raise ValueError(f"{version!r} is not a version such as 3.12 or 20.x")
    return versions


def _command(opts: Options, name: str, default: str) -> str:
    command = opts.text(name, default)
    # YAML also breaks lines at NEL and the Unicode separators: refuse them all.
    if any(unicodedata.category(char) in _BREAKING and char not in "\n\t" for char in command):
        raise ValueError(f"{name} holds control characters")
    return command


def generate(options: Mapping[str, Any], answers: Answers) -> list[FileSpec]:
    opts = Options.read(options, OPTIONS)
    toolchain = TOOLCHAINS[opts.one_of("language", tuple(TOOLCHAINS), "python")]
    content = workflow(
        toolchain,
        versions=_versions(opts, toolchain),
        install=_command(opts, "install_command", toolchain.install),
        test=_command(opts, "test_command", toolchain.test),
        branches=opts.listed("branches", "main"),
    )
    path = opts.text("path", ".github/workflows/ci.yml")
    return [FileSpec(path=path, content=content, render=False)]


GENERATOR = FileGenerator(
    name="github-actions",
    description="A GitHub Actions workflow that tests the project on a matrix of versions.",
    generate=generate,
    options=OPTIONS,
)
