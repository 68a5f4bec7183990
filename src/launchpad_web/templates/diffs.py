"""The difference between two versions of a definition, per file, as unified diffs.

Files are matched by path. A text file's diff is its content's; a binary one (base64)
only says that it changed. Variables, settings and the files' own settings (``when``,
``mode`` ...) are compared as the pretty JSON of the definition without file contents,
shown as the file ``launchpad.json``, the name an exported template gives it.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from .schemas import FileDiff

DEFINITION_FILE = "launchpad.json"
MAX_DIFF_CHARS = 200_000


def definition_diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[FileDiff, ...]:
    """Every file that differs between ``old`` and ``new``, by path, then the definition's
    other parts (as ``launchpad.json``) when they differ."""
    before, after = _files(old), _files(new)
    diffs = [_file_diff(path, before.get(path), after.get(path))
             for path in sorted(before.keys() | after.keys())]
    diffs.append(_file_diff(DEFINITION_FILE, _outline(old), _outline(new)))
    return tuple(d for d in diffs if d is not None)


def _files(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in definition.get("files", []) if isinstance(f, dict)
            and isinstance(f.get("path"), str)}


def _outline(definition: dict[str, Any]) -> dict[str, Any]:
    files = [{k: v for k, v in f.items() if k != "content"}
             for f in definition.get("files", []) if isinstance(f, dict)]
    return {"content": json.dumps({**definition, "files": files}, indent=2, sort_keys=True,
                                  ensure_ascii=False) + "\n"}


def _file_diff(path: str, old: dict[str, Any] | None, new: dict[str, Any] | None
               ) -> FileDiff | None:
    old_text, new_text = _content(old), _content(new)
    if old is not None and new is not None and old_text == new_text and (
            _binary(old) == _binary(new)):
        return None
    change = "added" if old is None else "removed" if new is None else "modified"
    if _binary(old) or _binary(new):
        return FileDiff(path=path, change=change, binary=True, diff=None, truncated=False)
    lines = difflib.unified_diff(old_text.splitlines(keepends=True),
                                 new_text.splitlines(keepends=True),
                                 fromfile="/dev/null" if old is None else f"a/{path}",
                                 tofile="/dev/null" if new is None else f"b/{path}")
    text = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)
    return FileDiff(path=path, change=change, binary=False, diff=text[:MAX_DIFF_CHARS],
                    truncated=len(text) > MAX_DIFF_CHARS)


def _content(spec: dict[str, Any] | None) -> str:
    content = (spec or {}).get("content", "")
    return content if isinstance(content, str) else json.dumps(content)


def _binary(spec: dict[str, Any] | None) -> bool:
    return (spec or {}).get("encoding") == "base64"
