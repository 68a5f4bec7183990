"""The builder's editor bundle (``static/vendor/editor.js``) is what ``frontend/build.py``
makes from the lockfile: every package pinned exactly, and a clean ``npm ci`` of the
lockfile (from npm's cache where it can) plus the build gives the committed bytes. Without
npm, or when ``npm ci`` cannot get the packages (offline with a cache that lacks them),
the rebuild is skipped, not failed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # npm ci and esbuild: the full run only

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
VENDOR = ROOT / "src" / "launchpad_web" / "pages" / "static" / "vendor"
EXACT = re.compile(r"^\d+\.\d+\.\d+$")


def test_every_package_is_pinned_exactly_and_locked_at_that_version() -> None:
    manifest = json.loads((FRONTEND / "package.json").read_text())
    lock = json.loads((FRONTEND / "package-lock.json").read_text())
    wanted = {**manifest["dependencies"], **manifest["devDependencies"]}
    assert "esbuild" in manifest["devDependencies"]
    for name, version in wanted.items():
        assert EXACT.match(version), f"{name}@{version} is not an exact version"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    assert all(entry.get("integrity") for path, entry in lock["packages"].items() if path)


def test_the_committed_bundle_is_the_build_of_the_lockfile(tmp_path: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    for name in ("package.json", "package-lock.json", "editor.js", "build.py"):
        shutil.copy(FRONTEND / name, tmp_path / name)
    installed = subprocess.run([npm, "ci", "--prefer-offline", "--ignore-scripts", "--no-audit",
                                "--no-fund"], cwd=tmp_path, capture_output=True, text=True,
                               check=False)
    if installed.returncode != 0:
        pytest.skip(f"npm ci failed (offline, and its cache lacks the packages?): "
                    f"{installed.stderr.strip()[-300:]}")
    out = tmp_path / "out"
    subprocess.run([sys.executable, str(tmp_path / "build.py"), "--out", str(out)], check=True,
                   capture_output=True)
    assert (out / "editor.js").read_bytes() == (VENDOR / "editor.js").read_bytes(), (
        "static/vendor/editor.js is stale: run `cd frontend && npm ci && python build.py`")
    assert (out / "editor.LICENSE").read_text() == (VENDOR / "editor.LICENSE").read_text()
