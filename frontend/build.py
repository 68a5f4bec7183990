"""Build the builder's editor bundle (CodeMirror 6) into the Python package.

    cd frontend && npm ci && python build.py            # writes the vendored bundle
    python frontend/build.py --out /tmp/x               # somewhere else (the test compares)

The packages are pinned exactly in package.json and package-lock.json; esbuild
(pinned too) bundles ``editor.js`` into one minified IIFE,
``src/launchpad_web/pages/static/vendor/editor.js``, committed, so the service
works offline and ``pip install`` needs no Node. The output depends only on the
lockfile and ``editor.js``: ``tests/web/test_editor_bundle.py`` rebuilds it and
compares when ``node_modules`` is present. The licences of the bundled packages
go next to it, in ``editor.LICENSE``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENDOR = HERE.parent / "src" / "launchpad_web" / "pages" / "static" / "vendor"
BANNER = "/* CodeMirror 6 and friends (MIT), bundled by frontend/build.py: see editor.LICENSE */"


def bundled_packages() -> list[Path]:
    """Every package of the lockfile that is not a build tool, sorted by path."""
    lock = json.loads((HERE / "package-lock.json").read_text(encoding="utf-8"))
    return sorted(HERE / name for name, entry in lock["packages"].items()
                  if name and not entry.get("dev"))


def licences() -> str:
    parts = []
    for package in bundled_packages():
        meta = json.loads((package / "package.json").read_text(encoding="utf-8"))
        text = next((p.read_text(encoding="utf-8") for p in sorted(package.glob("LICEN[CS]E*"))),
                    f"License: {meta.get('license')}\n")
        parts.append(f"{meta['name']}@{meta['version']}\n\n{text.strip()}\n")
    return "\n\n".join(parts)


def build(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(HERE / "node_modules" / ".bin" / "esbuild"), "editor.js", "--bundle",
                    "--format=iife", "--minify", "--target=es2020", "--charset=utf8",
                    "--legal-comments=none", f"--banner:js={BANNER}",
                    f"--outfile={out / 'editor.js'}"], cwd=HERE, check=True)
    (out / "editor.LICENSE").write_text(licences(), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=VENDOR, help="folder for editor.js")
    build(parser.parse_args().out)


if __name__ == "__main__":
    main()
