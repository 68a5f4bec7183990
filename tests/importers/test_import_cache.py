"""The CLI's cache of imported templates: reused while the tree is unchanged, never after."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from launchpad_core.importers.cache import ImportCache, tree_fingerprint
from launchpad_core.importers.copier import CopierImporter
from launchpad_core.testing import launchpad_with


def _copier_template(root: Path) -> Path:
    (root / "template").mkdir(parents=True)
    (root / "copier.yml").write_text("name:\n  type: str\n  default: world\n")
    (root / "template" / "hello.txt.jinja").write_text("hello {{ name }}\n")
    (root / "template" / "static.txt").write_text("static\n")
    return root


@pytest.fixture
def counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A Launchpad with an import cache, and a list of the real imports it made."""
    imports: list[Path] = []
    real = CopierImporter.load

    def load(self: CopierImporter, source: Path, *, trusted: bool) -> object:
        imports.append(source)
        return real(self, source, trusted=trusted)

    monkeypatch.setattr(CopierImporter, "load", load)
    return launchpad_with(import_cache_dir=tmp_path / "cache"), imports


def test_an_unchanged_tree_is_imported_once(tmp_path: Path, counted) -> None:
    launchpad, imports = counted
    source = _copier_template(tmp_path / "tpl")
    first = launchpad.load(source)
    second = launchpad.load(source)
    assert second == first
    assert len(imports) == 1


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "template" / "hello.txt.jinja").write_text("bye {{ name }}\n"),
        lambda root: (root / "template" / "new.txt").write_text("new\n"),
        lambda root: (root / "template" / "static.txt").unlink(),
        lambda root: (root / "template" / "static.txt").rename(root / "template" / "moved.txt"),
        lambda root: os.chmod(root / "template" / "static.txt", 0o600),
        lambda root: (root / "copier.yml").write_text("name:\n  type: str\n  default: you\n"),
    ],
    ids=["edit", "add", "remove", "rename", "chmod", "questions"],
)
def test_any_change_is_imported_again(tmp_path: Path, counted, change) -> None:
    launchpad, imports = counted
    source = _copier_template(tmp_path / "tpl")
    before = launchpad.load(source)
    change(source)
    after = launchpad.load(source)
    assert len(imports) == 2
    assert after != before


def test_the_trust_flag_is_part_of_the_key(tmp_path: Path, counted) -> None:
    launchpad, imports = counted
    source = _copier_template(tmp_path / "tpl")
    launchpad.load(source, trusted=False)
    launchpad.load(source, trusted=True)
    assert len(imports) == 2


def test_a_damaged_cache_file_is_rebuilt(tmp_path: Path, counted) -> None:
    launchpad, imports = counted
    source = _copier_template(tmp_path / "tpl")
    expected = launchpad.load(source)
    for path in (tmp_path / "cache").iterdir():
        path.write_bytes(path.read_bytes()[:-20])
    assert launchpad.load(source) == expected
    assert len(imports) == 2
    assert launchpad.load(source) == expected  # and replaced
    assert len(imports) == 2


def test_fingerprint_sees_a_same_size_edit(tmp_path: Path) -> None:
    root = _copier_template(tmp_path / "tpl")
    before = tree_fingerprint(root)
    path = root / "template" / "static.txt"
    stat = path.stat()
    path.write_text("STATIC\n")  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert tree_fingerprint(root) != before


def test_an_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the folder should be")
    cache = ImportCache(blocker / "imports")
    source = _copier_template(tmp_path / "tpl")
    launchpad = launchpad_with()
    importer = launchpad.hooks.template_importers()["copier"]
    built = cache.load(source, importer, trusted=False,
                       build=lambda: importer.load(source, trusted=False))
    assert built.name == "tpl"


def test_a_git_template_is_imported_again_under_another_umask(tmp_path: Path, counted) -> None:
    """A Git template's modes are a fresh clone's, which the umask decides (Copier): a
    cached import made under one umask must not serve a render under another."""
    import subprocess

    launchpad, imports = counted
    source = _copier_template(tmp_path / "tpl")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
           "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.com",
           "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.com"}
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "t"]):
        subprocess.run(["git", "-C", str(source), *argv], check=True, env=env)
    previous = os.umask(0o022)
    try:
        modes = [{f.path: f.mode for f in launchpad.load(source).files}]
        os.umask(0o002)
        modes.append({f.path: f.mode for f in launchpad.load(source).files})
        os.umask(0o022)
        modes.append({f.path: f.mode for f in launchpad.load(source).files})
    finally:
        os.umask(previous)
    assert [m["template/static.txt"] for m in modes] == [0o644, 0o664, 0o644]
    assert len(imports) == 2
