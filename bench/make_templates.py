#!/usr/bin/env python3
"""Write one synthetic project template in three formats that render the same tree.

OUT/copier/ (copier.yml, ``.jinja`` suffix, a ``template`` subdirectory),
OUT/cookiecutter/ (cookiecutter.json, a ``{{ cookiecutter.project_slug }}``
project folder) and OUT/template.json (a native LaunchPad definition), so the
same work can be timed in each tool and in LaunchPad, and compared byte for
byte. Usage: make_templates.py OUT [NFILES]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

BODY = """# {{ V.project_name }} - module %(i)d
# Author: {{ V.author }} <{{ V.email }}>
{%% if V.use_docker %%}# Container image: {{ V.project_slug }}:latest
{%% endif %%}
\"\"\"{{ V.description }}\"\"\"

VERSION = "{{ V.version }}"

{%% for n in range(%(loop)d) %%}
def handler_{{ n }}_%(i)d(request):
    \"\"\"Handle route {{ n }} of {{ V.project_slug }}.\"\"\"
    return {"module": %(i)d, "route": {{ n }}, "app": "{{ V.project_slug | upper }}"}
{%% endfor %%}
"""

STATIC = "".join(
    f"line {k}: static text that is copied verbatim with no markup at all\n" for k in range(40)
)

VARS = {
    "project_name": "Rocket Service",
    "project_slug": "rocket_service",
    "author": "Ada Lovelace",
    "email": "ada@example.com",
    "description": "A generated service used to time template renderers.",
    "version": "0.1.0",
    "use_docker": True,
}


def files(nfiles: int) -> Iterator[tuple[str, str]]:
    """(relative path with ``V.`` placeholders, Jinja body) pairs."""
    for i in range(nfiles):
        pkg = f"pkg{i % 10}"
        if i % 4 == 3:
            yield f"{{{{ V.project_slug }}}}/{pkg}/static_{i}.txt", STATIC
        else:
            yield f"{{{{ V.project_slug }}}}/{pkg}/mod_{i}.py", BODY % {"i": i, "loop": 8}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def write_copier(out: Path, nfiles: int) -> Path:
    """copier.yml questions, ``.jinja`` suffix, variables by bare name."""
    root = out / "copier"
    lines = ["_templates_suffix: .jinja", "_subdirectory: template"]
    for key, value in VARS.items():
        kind = "bool" if isinstance(value, bool) else "str"
        lines.append(f"{key}:\n  type: {kind}\n  default: {json.dumps(value)}")
    _write(root / "copier.yml", "\n".join(lines) + "\n")
    for rel, body in files(nfiles):
        suffix = "" if rel.endswith(".txt") else ".jinja"
        _write(root / "template" / (rel.replace("V.", "") + suffix), body.replace("V.", ""))
    return root


def write_cookiecutter(out: Path, nfiles: int) -> Path:
    """cookiecutter.json, the project folder named by a variable, ``cookiecutter.`` prefix."""
    root = out / "cookiecutter"
    context = {k: ("yes" if v is True else v) for k, v in VARS.items()}
    _write(root / "cookiecutter.json", json.dumps(context, indent=2))
    for rel, body in files(nfiles):
        text = body.replace("V.use_docker", "V.use_docker == 'yes'").replace("V.", "cookiecutter.")
        _write(root / rel.replace("V.", "cookiecutter."), text)
    return root


def native_definition(nfiles: int) -> dict[str, object]:
    """The same template as a LaunchPad definition (variables by bare name)."""
    variables = [
        {"name": k, "type": "bool" if isinstance(v, bool) else "str", "default": v}
        for k, v in VARS.items()
    ]
    specs = [{"path": rel.replace("V.", ""), "content": body.replace("V.", "")}
             for rel, body in files(nfiles)]
    for spec in specs:
        if spec["path"].endswith(".txt"):
            spec["render"] = False
    return {"name": "bench", "description": "Synthetic benchmark template.",
            "variables": variables, "files": specs}


def write_native(out: Path, nfiles: int) -> Path:
    path = out / "template.json"
    _write(path, json.dumps(native_definition(nfiles), indent=2) + "\n")
    return path


def main(out: str | Path, nfiles: int = 200) -> dict[str, Path]:
    target = Path(out)
    return {
        "copier": write_copier(target, nfiles),
        "cookiecutter": write_cookiecutter(target, nfiles),
        "native": write_native(target, nfiles),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("out", help="the folder to write (copier/, cookiecutter/, template.json)")
    parser.add_argument("nfiles", nargs="?", type=int, default=200, help="files (200)")
    args = parser.parse_args()
    main(args.out, args.nfiles)
