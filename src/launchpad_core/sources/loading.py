"""Reading templates from disk and writing them back out.

Three shapes: a definition file (``*.json``, ``*.yml``, ``*.yaml``), a
template directory (``launchpad.yml`` beside a file tree), or a foreign
template that an importer plugin recognises (Copier, Cookiecutter).

YAML and the converter are imported where a definition is read or written:
rendering a cached import needs neither.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import LoadError
from ..model.template import FileSpec, Template

if TYPE_CHECKING:
    pass

DIRECTORY_DEFINITIONS = ("launchpad.yml", "launchpad.yaml", "launchpad.json")
_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})


def read_data(path: Path, max_bytes: int) -> Any:
    """Parse a JSON or YAML file into plain data; every failure is one :class:`LoadError` line."""
    text = _read_text(path, max_bytes)
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise LoadError(f"{path}: not valid JSON: {exc.msg} (line {exc.lineno})") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LoadError(yaml_error_line(path, exc)) from None


def _read_text(path: Path, max_bytes: int) -> str:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoadError(f"{path} is {size:,} bytes, over the limit of {max_bytes:,}")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LoadError(f"not found: {path}") from None
    except IsADirectoryError:
        raise LoadError(f"{path} is a directory, not a file") from None
    except OSError as exc:
        raise LoadError(f"{path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise LoadError(f"{path} is not UTF-8 text") from None


def yaml_error_line(path: Path, exc: Exception) -> str:
    """A YAML parser error as one ``file:line:column: message`` line."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    return f"{where}: not valid YAML: {problem}"


def with_git_origin(template: Template, root: Path, *, source: str | None = None) -> Template:
    """A LaunchPad template directory's ``template`` with its source in
    ``settings.origin``: ``source`` as given (``gh:owner/name`` for a checkout of one), else
    the directory; and, when the directory is a Git repository, the commit (``git describe
    --tags --always``): what the answers file of ``launchpad render`` records, so ``launchpad
    update`` finds the version a project was made from. An imported template (its origin
    names its format) is returned as it is."""
    if "format" in template.settings.origin or not root.is_dir():
        return template
    import attrs

    origin = {**template.settings.origin, "source": source or str(root.resolve())}
    if (root / ".git").exists():
        from .git import describe, is_repository_root

        commit = describe(root) if is_repository_root(root) else None
        if commit:
            origin["commit"] = commit
    return attrs.evolve(template, settings=attrs.evolve(template.settings, origin=origin))


def directory_definition(root: Path) -> Path | None:
    return next((root / n for n in DIRECTORY_DEFINITIONS if (root / n).is_file()), None)


def load_directory(root: Path, *, max_bytes: int) -> Template:
    """A template directory: ``launchpad.yml`` plus every file beside it.

    Entries of ``files`` in ``launchpad.yml`` without ``content`` add settings
    (when, render, mode ...) to the tree file of the same path.
    """
    from ..model.serialization import structure_template

    definition_path = directory_definition(root)
    assert definition_path is not None
    data = read_data(definition_path, max_bytes) or {}
    if not isinstance(data, dict):
        raise LoadError(f"{definition_path} must hold a mapping")
    entries = data.get("files", [])
    if not isinstance(entries, list):
        raise LoadError(f"{definition_path}: 'files' must be a list")
    listed = {e.get("path"): e for e in entries if isinstance(e, dict)}
    # Entries that are not mappings stay, so the converter reports them.
    files = [e for e in entries if not isinstance(e, dict) or "content" in e]
    for rel, spec in _tree_files(root, skip=definition_path.name, max_bytes=max_bytes):
        extra = listed.pop(rel, {})
        merged = {**spec, **{k: v for k, v in extra.items() if k != "path"}}
        files.append(merged)
    missing = [p for p, e in listed.items() if "content" not in e]
    if missing:
        raise LoadError(f"{definition_path} lists files that are not in the tree: {missing[:5]}")
    return structure_template({**data, "files": files})


def _tree_files(root: Path, *, skip: str, max_bytes: int):
    from ..model.serialization import make_converter

    total = 0
    root_real = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if rel == skip:
                continue
            if not path.resolve().is_relative_to(root_real):
                raise LoadError(f"{rel} links outside the template directory")
            data = path.read_bytes()
            total += len(data)
            if total > max_bytes:
                raise LoadError(f"the template directory is over {max_bytes:,} bytes")
            spec = FileSpec.from_bytes(rel, data, mode=_mode_of(path))
            yield rel, make_converter().unstructure(spec)


def _mode_of(path: Path) -> int | None:
    """Keep the mode only where it matters: executable files."""
    mode = stat.S_IMODE(path.stat().st_mode)
    return mode if mode & 0o111 else None


def write_definition(template: Template, path: Path) -> None:
    """Write a definition file (JSON, or YAML for .yml/.yaml), atomically."""
    from ..model.serialization import unstructure_template

    write_definition_data(unstructure_template(template), path)


def write_directory(template: Template, root: Path) -> None:
    """Write a template directory: the file tree plus ``launchpad.yml``.

    File settings other than the content (when, render, mode ...) go to the
    ``files`` list of ``launchpad.yml``.
    """
    from ..model.serialization import unstructure_template

    data = unstructure_template(template)
    entries = []
    for spec, entry in zip(template.files, data.pop("files", []), strict=True):
        target = root / spec.path
        if not target.resolve().is_relative_to(root.resolve()):
            raise LoadError(f"{spec.path} would be written outside {root}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(spec.data)
        if spec.mode is not None:
            target.chmod(spec.mode)
        extra = {k: v for k, v in entry.items() if k not in ("path", "content", "encoding", "mode")}
        if extra:
            entries.append({"path": spec.path, **extra})
    if entries:
        data["files"] = entries
    write_definition_data(data, root / DIRECTORY_DEFINITIONS[0])


def write_definition_data(data: dict[str, Any], path: Path) -> None:
    if path.suffix in (".yml", ".yaml"):
        import yaml

        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    else:
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
