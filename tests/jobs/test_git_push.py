"""The publish commit (launchpad_worker.git_push) with real git: deterministic, exactly
the archive's files with their modes, unsafe paths refused, failures classified."""

from __future__ import annotations

import io
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from launchpad_worker.git_push import (
    Author,
    Credentials,
    GitPushError,
    RemoteUnavailableError,
    commit_archive,
    remote_heads,
)

AUTHOR = Author("Ada <Lovelace>", "ada@example.org", datetime(2030, 1, 1, tzinfo=UTC))


def archive(*members: tuple[str, bytes, int], link: tuple[str, str] | None = None) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        folder = tarfile.TarInfo("project")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        for name, data, mode in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link[0])
            info.type, info.linkname = tarfile.SYMTYPE, link[1]
            tar.addfile(info)
    buffer.seek(0)
    return buffer


FILES = (("project/README.md", b"# hello\n", 0o644), ("project/run.sh", b"echo hi\n", 0o755),
         ("project/.gitignore", b"*.md\n", 0o644), ('project/odd "name"\n.txt', b"x", 0o644))


def git(work: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(work), *args], check=True,
                          capture_output=True, text=True).stdout


def test_the_commit_is_the_archives_files_and_the_same_every_time(tmp_path):
    shas = []
    for n in range(2):
        work = tmp_path / f"w{n}"
        work.mkdir()
        shas.append(commit_archive(archive(*FILES, link=("project/latest", "README.md")),
                                   work, author=AUTHOR, message="Initial commit\n"))
    assert shas[0] == shas[1]
    work = tmp_path / "w0"
    listed = git(work, "ls-tree", "-r", "--format=%(objectmode) %(path)", "HEAD").splitlines()
    assert sorted(listed) == sorted(["100644 project/README.md", "100755 project/run.sh",
                                     "100644 project/.gitignore", "120000 project/latest",
                                     '100644 "project/odd \\"name\\"\\n.txt"'])
    assert git(work, "show", "HEAD:project/run.sh") == "echo hi\n"
    assert git(work, "log", "--format=%an <%ae> %at").strip() == \
        f"Ada Lovelace <ada@example.org> {int(AUTHOR.at.timestamp())}"


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/passwd", "project/.git/config"])
def test_paths_git_must_not_be_given_are_refused(tmp_path, name):
    with pytest.raises(GitPushError, match="must not be given"):
        commit_archive(archive((name, b"x", 0o644)), tmp_path, author=AUTHOR, message="m")


def test_an_unreachable_remote_is_unavailable_and_never_shows_the_token(tmp_path):
    commit_archive(archive(*FILES), tmp_path, author=AUTHOR, message="m")
    with pytest.raises(RemoteUnavailableError) as caught:
        remote_heads(tmp_path, "http://127.0.0.1:9/none.git", Credentials("x", "tok-secret"))
    assert "tok-secret" not in str(caught.value)
