"""Every hook ships with a docstring, a section in docs/plugins.md and a test.

Adding a hook to :mod:`launchpad_core.plugins.hookspecs` without the other two fails
here, so none is ever half-done.
"""

from __future__ import annotations

import re
from pathlib import Path

import pluggy
import pytest

from launchpad_core.plugins import hookspecs

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "plugins.md"


def _hook_names() -> list[str]:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return sorted(name for name, caller in vars(pm.hook).items() if caller.has_spec())


HOOKS = _hook_names()


def _test_sources() -> dict[Path, str]:
    files = [*(ROOT / "tests").rglob("test_*.py"), *(ROOT / "plugins").glob("*/tests/**/test_*.py")]
    return {f: f.read_text(encoding="utf-8") for f in files if f.resolve() != Path(__file__)}


@pytest.fixture(scope="module")
def doc_headings() -> set[str]:
    return set(re.findall(r"^## (\S+)\s*$", DOCS.read_text(encoding="utf-8"), re.MULTILINE))


@pytest.fixture(scope="module")
def test_sources() -> dict[Path, str]:
    return _test_sources()


def test_the_hooks_are_found() -> None:
    assert {"launchpad_variable_types", "launchpad_file_generators"} <= set(HOOKS)
    assert all(name.startswith("launchpad_") for name in HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_the_hook_has_a_docstring(hook: str) -> None:
    doc = getattr(hookspecs, hook).__doc__
    assert doc and doc.strip(), f"{hook} has no docstring in launchpad_core/plugins/hookspecs.py"


@pytest.mark.parametrize("hook", HOOKS)
def test_the_hook_is_documented(hook: str, doc_headings: set[str]) -> None:
    assert hook in doc_headings, f"docs/plugins.md has no '## {hook}' section"


@pytest.mark.parametrize("hook", HOOKS)
def test_the_hook_has_a_test(hook: str, test_sources: dict[Path, str]) -> None:
    assert any(hook in text for text in test_sources.values()), (
        f"no test module under tests/ or plugins/*/tests mentions {hook}"
    )


def test_every_documented_hook_exists(doc_headings: set[str]) -> None:
    documented = {h for h in doc_headings if h.startswith("launchpad_")}
    assert documented == set(HOOKS)
