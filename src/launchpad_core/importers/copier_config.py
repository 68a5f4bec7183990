"""Reading ``copier.yml`` the way Copier 9 reads it.

Several YAML documents and ``!include`` globs are flattened into one mapping;
the list settings (``_exclude``, ``_skip_if_exists`` ...) of every document are
concatenated, the other keys are taken from the first document defining them.
Keys starting with ``_`` are settings, the others are questions.
"""

from __future__ import annotations

import re
from collections import ChainMap, defaultdict
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import LoadError

if TYPE_CHECKING:
    import yaml

DEFAULT_EXCLUDE = (
    "copier.yaml",
    "copier.yml",
    "~*",
    "*.py[co]",
    "__pycache__",
    ".git",
    ".DS_Store",
    ".svn",
)
DEFAULT_TEMPLATES_SUFFIX = ".jinja"
DEFAULT_ANSWERS_FILE = ".copier-answers.yml"
_MERGED_LISTS = ("_exclude", "_jinja_extensions", "_secret_questions", "_skip_if_exists")
_CONFIG_NAME = re.compile(r"\.ya?ml", re.IGNORECASE)


@attrs.frozen
class CopierConfig:
    """Copier's settings (``_x`` keys, without the underscore) and questions."""

    settings: dict[str, Any]
    questions: dict[str, dict[str, Any]]

    @property
    def subdirectory(self) -> str:
        return str(self.settings.get("subdirectory", "") or "")

    @property
    def templates_suffix(self) -> str:
        suffix = self.settings.get("templates_suffix")
        return DEFAULT_TEMPLATES_SUFFIX if suffix is None else str(suffix)

    @property
    def exclude(self) -> tuple[str, ...]:
        default = DEFAULT_EXCLUDE if Path(self.subdirectory) == Path() else ()
        return tuple(str(p) for p in self.settings.get("exclude", default))

    @property
    def skip_if_exists(self) -> tuple[str, ...]:
        return tuple(str(p) for p in self.settings.get("skip_if_exists", ()))

    @property
    def answers_file(self) -> str:
        return str(self.settings.get("answers_file", DEFAULT_ANSWERS_FILE))

    @property
    def secret_questions(self) -> set[str]:
        names = set(self.settings.get("secret_questions", ()))
        return names | {name for name, q in self.questions.items() if q.get("secret")}


def config_path(root: Path) -> Path | None:
    """``copier.yml`` or ``copier.yaml`` of ``root``; two of them are an error, as in Copier."""
    found = [p for p in root.glob("copier.*") if p.is_file() and _CONFIG_NAME.match(p.suffix)]
    if len(found) > 1:
        names = ", ".join(sorted(p.name for p in found))
        raise LoadError(f"the template has more than one Copier configuration file ({names})")
    return found[0] if found else None


def load_config(root: Path) -> CopierConfig:
    path = config_path(root)
    raw = _load_documents(path, root.resolve()) if path else {}
    settings: dict[str, Any] = {}
    questions: dict[str, dict[str, Any]] = {}
    for key, value in raw.items():
        if key.startswith("_"):
            settings[key[1:]] = value
        else:
            questions[key] = value if isinstance(value, dict) else {"default": value}
    for name in settings.get("secret_questions", ()):
        if name in questions:
            questions[name] = {**questions[name], "secret": True}
    return CopierConfig(settings=settings, questions=questions)


def _load_documents(path: Path, root: Path) -> dict[str, Any]:
    import yaml

    loader = _loader(root)
    try:
        documents = _flatten(yaml.load_all(path.read_bytes(), Loader=loader))
    except yaml.YAMLError as exc:
        from ..sources.loading import yaml_error_line

        raise LoadError(yaml_error_line(path, exc)) from None
    except (ValueError, TypeError) as exc:
        raise LoadError(f"{path.name} is not valid: {exc}", source=str(path)) from None
    if not all(isinstance(d, dict) for d in documents):
        raise LoadError(f"{path.name} must hold mappings", source=str(path))
    merged: dict[str, list[Any]] = defaultdict(list)
    for option in _MERGED_LISTS:
        for document in documents:
            if option in document:
                merged[option].extend(document[option])
    return dict(ChainMap(dict(merged), *reversed(documents)))


def _flatten(documents: Any) -> list[Any]:
    """Copier flattens nested lists of documents (from ``!include``) and drops empty ones."""
    flat: list[Any] = []
    for document in documents:
        if isinstance(document, list | tuple):
            flat.extend(_flatten(document))
        elif document:
            flat.append(document)
    return flat


def _loader(root: Path) -> type[yaml.SafeLoader]:
    """A safe loader with Copier's ``!include`` tag, confined to ``root``: libyaml's parser
    where PyYAML was built with it (a tenth of the pure-Python parser's cost), with the same
    constructors and resolver either way."""
    import yaml

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        """A safe loader with Copier's ``!include`` tag, confined to the template."""

    def include(loader: yaml.SafeLoader, node: yaml.Node) -> list[Any]:
        if not isinstance(node, yaml.ScalarNode):
            raise TypeError(f"unsupported YAML node for !include: {node!r}")
        pattern = str(loader.construct_scalar(node))
        if PurePosixPath(pattern).is_absolute():
            raise ValueError("a YAML include path must be relative")
        found: list[Any] = []
        for included in root.glob(pattern):
            if not included.resolve().is_relative_to(root):
                raise ValueError(f"{pattern} includes a file outside the template directory")
            found.extend(_flatten(yaml.load_all(included.read_bytes(), Loader=Loader)))
        return found

    Loader.add_constructor("!include", include)
    return Loader
