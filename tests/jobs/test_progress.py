"""A render's progress report: throttled in the child, checked by the worker."""

from __future__ import annotations

import json
import time

import pytest

from launchpad_worker.render import MAX_PATH_SHOWN, ProgressFile, read_progress


def test_ten_thousand_files_within_the_interval_write_no_report(tmp_path):
    path = tmp_path / "progress.json"
    report = ProgressFile(str(path), seconds=0.25).reporter()
    started = time.monotonic()
    for done in range(1, 10_001):
        report(done, 10_000, f"f{done}.txt", done * 10)
    assert time.monotonic() - started < 0.25  # else this machine is too slow to tell
    assert not path.exists()
    time.sleep(0.26)
    report(10_000, 10_000, "last.txt", 99)
    assert read_progress(path) == {"files": 10_000, "total": 10_000, "path": "last.txt",
                                   "bytes": 99}
    assert [p.name for p in tmp_path.iterdir()] == ["progress.json"]  # replaced whole


@pytest.mark.parametrize("written", [
    "", "{", "[]", '{"files": 1}',
    json.dumps({"files": 3, "total": 2, "path": "a", "bytes": 0}),
    json.dumps({"files": -1, "total": 2, "path": "a", "bytes": 0}),
    json.dumps({"files": 1, "total": 2, "path": 5, "bytes": 0}),
    json.dumps({"files": True, "total": 2, "path": "a", "bytes": 0}),
    json.dumps({"files": 1.5, "total": 2, "path": "a", "bytes": 0}),
])
def test_a_report_that_is_not_one_is_ignored(tmp_path, written):
    path = tmp_path / "progress.json"
    path.write_text(written)
    assert read_progress(path) is None


def test_no_report_yet_is_none_and_a_long_path_is_cut(tmp_path):
    path = tmp_path / "progress.json"
    assert read_progress(path) is None
    path.write_text(json.dumps({"files": 1, "total": 2, "path": "p" * 5000, "bytes": 3}))
    assert read_progress(path)["path"] == "p" * MAX_PATH_SHOWN
