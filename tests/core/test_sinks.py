"""Sinks: directory (all or nothing), deterministic archives, manifest."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from launchpad_core.errors import DestinationError, LaunchpadError, UnsafePathError
from launchpad_core.model.output import ManifestEntry, RenderedFile
from launchpad_core.render import archives
from launchpad_core.render.archives import (
    TAR_MTIME,
    TarGzSink,
    ZipSink,
    archive_entries,
    tar_gz_of_zip,
)
from launchpad_core.render.sink_formats import make_sink
from launchpad_core.render.sinks import DirectorySink, ManifestSink, WriteReport

FILES = (
    RenderedFile("README.md", b"# hello\n", source="README.md.jinja"),
    RenderedFile("bin/run", b"#!/bin/sh\necho hi\n", mode=0o755, source="bin/run"),
    RenderedFile("src/pkg/__init__.py", b"", source="src/{{ name }}/__init__.py"),
    RenderedFile("src/pkg/core.py", b"x = 1\n" * 100, mode=0o600, source="core.py"),
)


def snapshot(root: Path) -> dict[str, tuple[str, bytes | None, int]]:
    """Every path below root with its kind, content and permissions."""
    tree = {}
    for path in sorted(root.rglob("*")):
        kind = "dir" if path.is_dir() else "file"
        data = path.read_bytes() if kind == "file" else None
        tree[path.relative_to(root).as_posix()] = (kind, data, stat.S_IMODE(path.stat().st_mode))
    return tree


@pytest.fixture
def existing(tmp_path: Path) -> Path:
    """A destination that already holds a README and a config file."""
    dest = tmp_path / "dest"
    (dest / "conf").mkdir(parents=True)
    (dest / "README.md").write_bytes(b"old readme")
    (dest / "conf" / "settings.toml").write_bytes(b"mine = true")
    return dest


# Directory ---------------------------------------------------------------------


def test_directory_sink_writes_every_file(tmp_path: Path) -> None:
    dest = tmp_path / "new" / "project"
    report = DirectorySink(dest).write(FILES)
    assert report.written == tuple(f.path for f in FILES)
    assert report.skipped == ()
    for file in FILES:
        assert (dest / file.path).read_bytes() == file.data
    assert not list(dest.rglob(".launchpad-*"))


def test_directory_sink_applies_modes(tmp_path: Path) -> None:
    DirectorySink(tmp_path).write(FILES)
    assert stat.S_IMODE(os.stat(tmp_path / "bin" / "run").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(tmp_path / "src" / "pkg" / "core.py").st_mode) == 0o600


def test_directory_sink_default_mode_is_what_open_gives(tmp_path: Path) -> None:
    (tmp_path / "reference").write_bytes(b"")
    DirectorySink(tmp_path / "out").write(FILES)
    expected = stat.S_IMODE((tmp_path / "reference").stat().st_mode)
    assert stat.S_IMODE((tmp_path / "out" / "README.md").stat().st_mode) == expected


def test_directory_sink_never_writes_special_mode_bits(tmp_path: Path) -> None:
    DirectorySink(tmp_path).write([RenderedFile("x", b"", mode=0o4777)])
    assert stat.S_IMODE((tmp_path / "x").stat().st_mode) == 0o777


def test_existing_files_are_refused_before_anything_is_written(existing: Path) -> None:
    before = snapshot(existing)
    with pytest.raises(DestinationError) as caught:
        DirectorySink(existing).write(FILES)
    assert "README.md" in caught.value.message
    assert caught.value.message.startswith("1 file(s) already exist")
    assert snapshot(existing) == before


def test_conflict_message_lists_ten_paths_and_the_count(tmp_path: Path) -> None:
    files = [RenderedFile(f"f{i:02}", b"new") for i in range(15)]
    for file in files:
        (tmp_path / file.path).write_bytes(b"old")
    with pytest.raises(DestinationError) as caught:
        DirectorySink(tmp_path).write(files)
    message = caught.value.message
    assert message.startswith("15 file(s)")
    assert "f09" in message
    assert "f10" not in message
    assert "and 5 more" in message


def test_overwrite_replaces_existing_files(existing: Path) -> None:
    DirectorySink(existing, overwrite=True).write(FILES)
    assert (existing / "README.md").read_bytes() == b"# hello\n"
    assert (existing / "conf" / "settings.toml").read_bytes() == b"mine = true"


@pytest.mark.parametrize("overwrite", [False, True])
def test_skip_if_exists_keeps_the_old_bytes(existing: Path, overwrite: bool) -> None:
    files = [
        RenderedFile("README.md", b"new readme", skip_if_exists=True),
        RenderedFile("conf/other.toml", b"new", skip_if_exists=True),
    ]
    report = DirectorySink(existing, overwrite=overwrite).write(files)
    assert (existing / "README.md").read_bytes() == b"old readme"
    assert (existing / "conf" / "other.toml").read_bytes() == b"new"
    assert report.skipped == ("README.md",)
    assert report.written == ("conf/other.toml",)
    assert [entry.path for entry in report.manifest] == ["conf/other.toml"]


def test_a_symlink_inside_dest_pointing_outside_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "src").symlink_to(outside)
    with pytest.raises(UnsafePathError):
        DirectorySink(dest, overwrite=True).write(FILES)
    assert list(outside.iterdir()) == []
    assert not (dest / "README.md").exists()


def test_a_file_where_a_directory_is_needed_leaves_dest_as_it_was(existing: Path) -> None:
    before = snapshot(existing)
    files = [RenderedFile("a/new.txt", b"new"), RenderedFile("conf/settings.toml/x", b"")]
    with pytest.raises(DestinationError) as caught:
        DirectorySink(existing, overwrite=True).write(files)
    assert "conf/settings.toml" in caught.value.message
    assert snapshot(existing) == before


def test_a_directory_where_a_file_is_needed_is_refused(existing: Path) -> None:
    with pytest.raises(DestinationError, match="directory"):
        DirectorySink(existing, overwrite=True).write([RenderedFile("conf", b"")])


def test_a_destination_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dest").write_bytes(b"")
    with pytest.raises(DestinationError):
        DirectorySink(tmp_path / "dest").write(FILES)


def _fail_on_third_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_replace = os.replace

    def flaky_replace(src: Path, dst: Path) -> None:
        calls.append(dst)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)


def test_a_failure_midway_leaves_dest_exactly_as_before(
    existing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(existing)
    files = [
        RenderedFile("a/one.txt", b"1"),
        RenderedFile("conf/deep/two.txt", b"2"),
        RenderedFile("z/three.txt", b"3"),
    ]
    _fail_on_third_replace(monkeypatch)
    with pytest.raises(DestinationError, match="No space left"):
        DirectorySink(existing).write(files)
    assert snapshot(existing) == before


def test_a_failure_removes_a_dest_the_run_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_rename(src: Path, dst: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "rename", failing_rename)
    with pytest.raises(DestinationError, match="No space left"):
        DirectorySink(tmp_path / "new" / "dest").write(FILES)
    assert list(tmp_path.iterdir()) == []


def test_a_new_dest_appears_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A destination that did not exist is built beside it and renamed into place."""
    seen: list[list[str]] = []
    real_rename = os.rename

    def watching_rename(src: Path, dst: Path) -> None:
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", watching_rename)
    report = DirectorySink(tmp_path / "dest").write(FILES)
    assert len(seen) == 1 and "dest" not in seen[0]  # absent until the single rename
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest"]
    assert report.written == tuple(f.path for f in FILES)
    for file in FILES:
        assert (tmp_path / "dest" / file.path).read_bytes() == file.data


@pytest.mark.parametrize("dest_exists", [False, True])
def test_a_failure_while_staging_removes_everything_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dest_exists: bool
) -> None:
    if dest_exists:
        (tmp_path / "dest").mkdir()
    real_fchmod = os.fchmod

    def failing_fchmod(fd: int, mode: int) -> None:
        if mode == 0o600:  # the mode of src/pkg/core.py, staged after two other files
            raise PermissionError(1, "Operation not permitted")
        real_fchmod(fd, mode)

    monkeypatch.setattr(os, "fchmod", failing_fchmod)
    with pytest.raises(DestinationError):
        DirectorySink(tmp_path / "dest").write(FILES)
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert left == (["dest"] if dest_exists else [])


# Archives ------------------------------------------------------------------------

ARCHIVE_SINKS = [ZipSink, TarGzSink]


def _archive_bytes(sink_class: type[ZipSink | TarGzSink]) -> bytes:
    stream = io.BytesIO()
    sink_class(stream).write(FILES)
    return stream.getvalue()


@pytest.mark.parametrize("sink_class", ARCHIVE_SINKS)
def test_archives_are_byte_identical_across_runs(
    sink_class: type[ZipSink | TarGzSink], tmp_path: Path
) -> None:
    sink_class(tmp_path / "one").write(FILES)
    sink_class(tmp_path / "two").write(FILES)
    assert (tmp_path / "one").read_bytes() == (tmp_path / "two").read_bytes()
    assert (tmp_path / "one").read_bytes() == _archive_bytes(sink_class)


EXPECTED_MEMBERS = [
    ("README.md", 0o644),
    ("bin/", 0o755),
    ("bin/run", 0o755),
    ("src/", 0o755),
    ("src/pkg/", 0o755),
    ("src/pkg/__init__.py", 0o644),
    ("src/pkg/core.py", 0o600),
]


def test_zip_entries_are_sorted_with_modes_and_fixed_times() -> None:
    with zipfile.ZipFile(io.BytesIO(_archive_bytes(ZipSink))) as archive:
        infos = archive.infolist()
        members = [(i.filename, stat.S_IMODE(i.external_attr >> 16)) for i in infos]
        assert members == EXPECTED_MEMBERS
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert archive.read("src/pkg/core.py") == FILES[3].data
        assert archive.getinfo("src/pkg/core.py").compress_type == zipfile.ZIP_DEFLATED
        assert archive.getinfo("bin/").is_dir()


def test_tar_entries_are_sorted_with_modes_and_fixed_owner() -> None:
    with tarfile.open(fileobj=io.BytesIO(_archive_bytes(TarGzSink)), mode="r:gz") as archive:
        members = archive.getmembers()
        expected = [(name.rstrip("/"), mode) for name, mode in EXPECTED_MEMBERS]
        assert [(m.name, m.mode) for m in members] == expected
        assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "", "")}
        assert len({m.mtime for m in members}) == 1
        assert archive.getmember("bin").isdir()
        assert archive.extractfile("src/pkg/core.py").read() == FILES[3].data


def test_gzip_header_has_mtime_zero_and_no_file_name(tmp_path: Path) -> None:
    TarGzSink(tmp_path / "out.tar.gz").write(FILES)
    header = (tmp_path / "out.tar.gz").read_bytes()[:10]
    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] & 0x08 == 0  # FNAME flag
    assert header[4:8] == b"\x00\x00\x00\x00"


@pytest.mark.parametrize(
    ("sink_class", "method"),
    [(ZipSink, (zipfile.ZipFile, "writestr")), (TarGzSink, (tarfile.TarFile, "addfile"))],
)
def test_a_failing_archive_write_leaves_no_file_behind(
    sink_class: type[ZipSink | TarGzSink],
    method: tuple[type, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(*method, fail)
    with pytest.raises(DestinationError):
        sink_class(tmp_path / "out.archive").write(FILES)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sink_class", ARCHIVE_SINKS)
def test_archives_refuse_an_existing_file_unless_overwriting(
    sink_class: type[ZipSink | TarGzSink], tmp_path: Path
) -> None:
    target = tmp_path / "out"
    target.write_bytes(b"old")
    with pytest.raises(DestinationError):
        sink_class(target).write(FILES)
    assert target.read_bytes() == b"old"
    sink_class(target, overwrite=True).write(FILES)
    assert target.read_bytes() == _archive_bytes(sink_class)


@pytest.mark.parametrize("sink_class", ARCHIVE_SINKS)
def test_archives_refuse_unsafe_paths(sink_class: type[ZipSink | TarGzSink]) -> None:
    with pytest.raises(UnsafePathError):
        sink_class(io.BytesIO()).write([RenderedFile("../evil", b"", source="evil.jinja")])


@pytest.mark.parametrize("sink_class", ARCHIVE_SINKS)
def test_archives_ignore_skip_if_exists(sink_class: type[ZipSink | TarGzSink]) -> None:
    report = sink_class(io.BytesIO()).write([RenderedFile("a", b"", skip_if_exists=True)])
    assert report.written == ("a",)
    assert report.skipped == ()


# Manifest and make_sink ----------------------------------------------------------


def test_manifest_sink_reports_size_and_sha256_and_writes_nothing(tmp_path: Path) -> None:
    report = ManifestSink().write(FILES)
    assert report.written == ()
    assert report.manifest[1] == ManifestEntry(
        "bin/run", 18, hashlib.sha256(b"#!/bin/sh\necho hi\n").hexdigest(), 0o755
    )
    assert [entry.size for entry in report.manifest] == [8, 18, 0, 600]


@pytest.mark.parametrize("format", ["dir", "zip", "tar.gz", "manifest"])
def test_every_sink_fills_the_manifest(format: str, tmp_path: Path) -> None:
    report = make_sink(format, tmp_path / "out").write(FILES)
    assert isinstance(report, WriteReport)
    assert report.manifest == ManifestSink().write(FILES).manifest


def test_make_sink_builds_the_named_sink(tmp_path: Path) -> None:
    assert make_sink("dir", tmp_path, overwrite=True) == DirectorySink(tmp_path, overwrite=True)
    assert make_sink("zip", str(tmp_path / "a.zip")) == ZipSink(tmp_path / "a.zip")
    assert make_sink("tar.gz", tmp_path / "a.tgz") == TarGzSink(tmp_path / "a.tgz")
    assert make_sink("manifest") == ManifestSink()


def test_make_sink_refuses_an_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(DestinationError) as caught:
        make_sink("rar", tmp_path)
    assert isinstance(caught.value, LaunchpadError)
    assert caught.value.code == "destination_error"
    assert "tar.gz" in caught.value.message


def test_make_sink_needs_a_destination_for_files() -> None:
    with pytest.raises(DestinationError):
        make_sink("zip")


# Directory entries -----------------------------------------------------------------

WITH_FOLDERS = (
    RenderedFile("a/empty", b"", is_dir=True),
    RenderedFile("conf", b"", is_dir=True),
    RenderedFile("private", b"", mode=0o700, is_dir=True),
    RenderedFile("z.txt", b"z"),
)


@pytest.mark.parametrize("dest_exists", [False, True])
def test_directory_entries_become_folders_not_files_in_the_report(
    tmp_path: Path, dest_exists: bool
) -> None:
    dest = tmp_path / "dest"
    if dest_exists:
        (dest / "conf").mkdir(parents=True)  # an existing folder is fine
    report = DirectorySink(dest).write(WITH_FOLDERS)
    tree = snapshot(dest)
    assert {path for path, (kind, _, _) in tree.items() if kind == "dir"} == {
        "a", "a/empty", "conf", "private"
    }
    assert tree["private"][2] == 0o700
    assert report.written == ("z.txt",)
    assert [entry.path for entry in report.manifest] == ["z.txt"]


def test_a_file_where_a_folder_goes_leaves_dest_as_it_was(existing: Path) -> None:
    before = snapshot(existing)
    files = [RenderedFile("new", b"", is_dir=True), RenderedFile("README.md", b"", is_dir=True)]
    with pytest.raises(DestinationError, match="would replace a file"):
        DirectorySink(existing, overwrite=True).write(files)
    assert snapshot(existing) == before


def test_a_failure_removes_the_folders_the_run_created(
    existing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(existing)
    files = [
        RenderedFile("a/one.txt", b"1"),
        RenderedFile("b/new/empty", b"", is_dir=True),
        RenderedFile("c/two.txt", b"2"),
        RenderedFile("d/three.txt", b"3"),
    ]
    _fail_on_third_replace(monkeypatch)
    with pytest.raises(DestinationError, match="No space left"):
        DirectorySink(existing).write(files)
    assert snapshot(existing) == before


def test_archives_hold_directory_entries_with_fixed_times_and_modes() -> None:
    stream = io.BytesIO()
    ZipSink(stream).write(WITH_FOLDERS)
    with zipfile.ZipFile(stream) as archive:
        members = [(i.filename, stat.S_IMODE(i.external_attr >> 16)) for i in archive.infolist()]
        assert members == [
            ("a/", 0o755), ("a/empty/", 0o755), ("conf/", 0o755), ("private/", 0o700),
            ("z.txt", 0o644),
        ]
        assert archive.getinfo("a/empty/").is_dir()
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    stream = io.BytesIO()
    TarGzSink(stream).write(WITH_FOLDERS)
    with tarfile.open(fileobj=io.BytesIO(stream.getvalue()), mode="r:gz") as archive:
        empty = archive.getmember("a/empty")
        assert (empty.type, empty.mode, empty.mtime) == (tarfile.DIRTYPE, 0o755, TAR_MTIME)
        assert archive.getmember("private").mode == 0o700
        assert archive.getnames() == ["a", "a/empty", "conf", "private", "z.txt"]


@pytest.mark.parametrize("format", ["dir", "zip", "tar.gz", "manifest"])
def test_manifests_and_reports_list_files_only(format: str, tmp_path: Path) -> None:
    report = make_sink(format, tmp_path / "out").write(WITH_FOLDERS)
    assert [entry.path for entry in report.manifest] == ["z.txt"]
    assert report.written == (() if format == "manifest" else ("z.txt",))


@pytest.mark.parametrize("fmt", sorted(archives.ARCHIVE_SINKS))
def test_one_list_of_entries_writes_the_same_archives_as_the_files(tmp_path: Path, fmt) -> None:
    entries = archive_entries(FILES)
    for n in (1, 2):  # the same list serves every archive of the same files
        archives.ARCHIVE_SINKS[fmt](tmp_path / f"from-entries-{n}").write_entries(entries)
    make_sink(fmt, tmp_path / "from-files").write(FILES)
    expected = (tmp_path / "from-files").read_bytes()
    assert (tmp_path / "from-entries-1").read_bytes() == expected
    assert (tmp_path / "from-entries-2").read_bytes() == expected
    with pytest.raises(DestinationError):
        archives.ARCHIVE_SINKS[fmt](tmp_path / "from-files").write_entries(entries)


def test_a_tar_gz_made_from_a_zip_is_the_one_the_tar_gz_sink_writes(tmp_path):
    big = bytes(range(256)) * 9000  # over a megabyte: copied in chunks
    entries = archive_entries([
        RenderedFile(path="app", data=b"", mode=0o700, is_dir=True),
        RenderedFile(path="app/big.bin", data=big),
        RenderedFile(path="app/empty.txt", data=b""),
        RenderedFile(path="app/link", data=b"run.sh", symlink=True),
        RenderedFile(path="app/run.sh", data=b"#!/bin/sh\n", mode=0o755),
        RenderedFile(path="app/" + "n" * 120 + "/\u00e9t\u00e9.txt", data="\u00e9".encode()),
    ])
    ZipSink(tmp_path / "a.zip").write_entries(entries)
    TarGzSink(tmp_path / "expected.tar.gz").write_entries(entries)
    tar_gz_of_zip(tmp_path / "a.zip", tmp_path / "made.tar.gz")
    made = (tmp_path / "made.tar.gz").read_bytes()
    assert made == (tmp_path / "expected.tar.gz").read_bytes()
    with tarfile.open(fileobj=io.BytesIO(made), mode="r|gz") as archive:  # a stream reads it
        assert [m.name for m in archive] == [e.name.rstrip("/") for e in entries]
    with tarfile.open(tmp_path / "made.tar.gz", "r:gz") as archive:
        assert archive.extractfile("app/big.bin").read() == big
        assert archive.getmember("app/link").linkname == "run.sh"
