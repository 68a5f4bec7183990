"""Symbolic links: Copier's ``_preserve_symlinks: true`` keeps them as links (the
target of a suffixed one rendered), written as links in a directory, as zip
members of the link type and as tar symlink members; a link may only point
inside the destination. Cookiecutter (and Copier without the setting) follows
them: a linked file is copied, a linked folder is made empty (Cookiecutter)."""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from launchpad_core.cli import main as cli
from launchpad_core.errors import DefinitionError, UnsafePathError
from launchpad_core.importers.importing import import_template

from .conftest import (
    assert_same_tree,
    render_with_launchpad,
    run_cookiecutter,
    run_copier,
    snapshot,
    write_tree,
)

COPIER = {
    "copier.yml": "_preserve_symlinks: true\nname: widget\n",
    "README.md.jinja": "# {{ name }}\n",
    "docs/index.md": "docs\n",
    "{{ name }}.txt": "x\n",
    "sub/deeper/": None,
}
LINKS = {
    "README.rst": "README.md",  # to a rendered file
    "docs-link": "docs",  # to a folder
    "named.jinja": "{{ name }}.txt",  # suffixed: the target is rendered
    "sub/up.md": "../README.md",
    "sub/deeper/top": "../..",
    "{{ name }}-link": "docs/index.md",  # a templated name
}


def copier_template(root: Path, links: dict[str, str] = LINKS) -> Path:
    src = write_tree(root, COPIER)
    for link, target in links.items():
        os.symlink(target, src / link)
    return src


@pytest.fixture(autouse=True)
def own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAUNCHPAD_PLUGINS", "")
    monkeypatch.setenv("LAUNCHPAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LAUNCHPAD_NO_CACHE", raising=False)


@pytest.mark.parametrize("answers", [{}, {"name": "gadget"}])
def test_copier_preserved_links_are_identical(lp, tmp_path, answers):
    src = copier_template(tmp_path / "tpl")
    expected = run_copier(src, tmp_path / "copier", answers)
    actual = render_with_launchpad(lp, src, tmp_path / "lp", answers)
    assert_same_tree(expected, actual)
    name = answers.get("name", "widget")
    assert os.readlink(actual / "named") == f"{name}.txt"
    assert (actual / "sub" / "up.md").read_text() == f"# {name}\n"


def test_rendering_again_over_the_links_replaces_them(tmp_path, capsys):
    src = copier_template(tmp_path / "tpl")
    out = tmp_path / "lp"
    assert cli.main(["render", str(src), str(out), "--defaults", "-q"]) == 0
    assert cli.main(["render", str(src), str(out), "--defaults", "-q", "-dname=other"]) == 1
    assert "7 file(s) already exist" in capsys.readouterr().err
    assert cli.main(["render", str(src), str(out), "--defaults", "-q", "--force"]) == 0
    assert_same_tree(run_copier(src, tmp_path / "copier", {}), out)


def test_archives_hold_the_links(tmp_path):
    src = copier_template(tmp_path / "tpl")
    expected = snapshot(run_copier(src, tmp_path / "copier", {}))
    assert cli.main(["render", str(src), str(tmp_path / "a.zip"), "--format", "zip", "-q"]) == 0
    assert cli.main(["render", str(src), str(tmp_path / "a.tgz"), "--format", "tar.gz", "-q"]) == 0
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        links = {
            i.filename: archive.read(i).decode()
            for i in archive.infolist()
            if stat.S_ISLNK(i.external_attr >> 16)
        }
    with tarfile.open(tmp_path / "a.tgz") as archive:
        tar_links = {m.name: m.linkname for m in archive.getmembers() if m.issym()}
        archive.extractall(tmp_path / "untarred", filter="data")  # refuses escaping links
    want = {p: d.decode()[3:] for p, (d, mode) in expected.items() if stat.S_ISLNK(mode)}
    assert links == tar_links == want
    assert len(want) == 6
    assert snapshot(tmp_path / "untarred") == expected


@pytest.mark.parametrize(
    ("links", "reason"),
    [
        ({"out": "../elsewhere"}, "it points outside the destination"),
        ({"sub/deeper/out": "../../../x"}, "it points outside the destination"),
        ({"abs": "/etc/passwd"}, "a link target must be a relative path"),
        ({"dot": ".", "climb": "dot/.."}, "'..' may only begin a link target"),
    ],
)
def test_a_link_leaving_the_destination_is_refused(lp, tmp_path, capsys, links, reason):
    """A static target is checked with the definition, a rendered one when rendering."""
    src = copier_template(tmp_path / "tpl", links)
    with pytest.raises(DefinitionError) as caught:
        import_template(src, launchpad=lp)
    assert [p.code for p in caught.value.problems] == ["unsafe_path"]
    assert reason in caught.value.problems[0].message
    assert cli.main(["render", str(src), str(tmp_path / "lp"), "--defaults"]) == 1
    err = capsys.readouterr().err
    assert "unsafe symbolic link " in err and reason in err
    assert not (tmp_path / "lp").exists()


@pytest.mark.parametrize("target", ["{{ '../' * 3 }}x", "{{ name }}/../.."])
def test_a_rendered_target_leaving_the_destination_is_refused(lp, tmp_path, capsys, target):
    src = copier_template(tmp_path / "tpl", {"bad.jinja": target})
    template = import_template(src, launchpad=lp)
    with pytest.raises(UnsafePathError, match="unsafe symbolic link 'bad'"):
        lp.render(template, lp.resolve_answers(template, {}))
    assert cli.main(["render", str(src), str(tmp_path / "lp"), "--defaults"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("launchpad: error: unsafe symbolic link 'bad' -> ")
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "lp").exists()


def test_an_archive_refuses_them_too(tmp_path, capsys):
    src = copier_template(tmp_path / "tpl", {"out.jinja": "../../{{ name }}"})
    argv = ["render", str(src), str(tmp_path / "a.zip"), "--format", "zip", "--defaults"]
    assert cli.main(argv) == 1
    assert "unsafe symbolic link 'out' -> '../../widget'" in capsys.readouterr().err
    assert not (tmp_path / "a.zip").exists()


def test_without_the_setting_copier_follows_links(lp, tmp_path):
    src = write_tree(tmp_path / "tpl", {"copier.yml": "name: w\n", "a.txt": "a\n"})
    os.symlink("a.txt", src / "b.txt")
    expected = run_copier(src, tmp_path / "copier", {})
    actual = render_with_launchpad(lp, src, tmp_path / "lp", {})
    assert_same_tree(expected, actual)
    assert not (actual / "b.txt").is_symlink()


@pytest.mark.parametrize("answers", [{}, {"name": "gadget"}])
def test_cookiecutter_follows_links_like_cookiecutter(lp, tmp_path, answers):
    project = "{{ cookiecutter.name }}"
    src = write_tree(
        tmp_path / "tpl",
        {
            "cookiecutter.json": '{"name": "widget"}',
            f"{project}/README.md": "# {{ cookiecutter.name }}\n",
            f"{project}/docs/index.md": "docs {{ cookiecutter.name }}\n",
        },
    )
    os.symlink("README.md", src / project / "README.rst")
    os.symlink("docs", src / project / "docs-link")
    os.symlink("../cookiecutter.json", src / project / "context.json")
    expected = run_cookiecutter(src, tmp_path / "cc", answers)
    actual = render_with_launchpad(lp, src, tmp_path / "lp", answers)
    assert_same_tree(expected, actual)
    readme = actual / answers.get("name", "widget") / "README.rst"
    assert readme.read_text().startswith("# ") and not readme.is_symlink()


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        ({"path": "out", "content": "../x", "symlink": True}, "unsafe_path"),
        ({"path": "a/b", "content": "../../x", "symlink": True}, "unsafe_path"),
        ({"path": "d/", "symlink": True}, "invalid_link"),
        ({"path": "b", "content": "AAAA", "encoding": "base64", "symlink": True}, "invalid_link"),
    ],
)
def test_a_definition_with_a_bad_link_is_invalid(lp, spec, code):
    """Checked when the definition is (the hosted service's check too), where static."""
    from launchpad_core.isolation.hosted import definition_problems

    problems = definition_problems({"name": "t", "files": [spec]})
    assert [(p.code, p.path.rsplit(".", 1)[0]) for p in problems] == [(code, "$.files[0]")]


def test_a_good_static_link_is_valid(lp):
    from launchpad_core.isolation.hosted import definition_problems

    files = [{"path": "a/b", "content": "../c", "symlink": True}, {"path": "c", "content": ""}]
    assert definition_problems({"name": "t", "files": files}) == []
