"""The template definition: frozen attrs value objects.

A definition is what the hosted service stores as ``templates.definition`` and
what ``launchpad.yml`` / a ``*.json`` definition file holds. The JSON form is
produced and read by the one converter in :mod:`launchpad_core.model.serialization`;
the JSON Schema is generated from these classes (:mod:`launchpad_core.model.schema`),
so field docs live here, in ``metadata={"doc": ...}``.
"""

from __future__ import annotations

import base64
import binascii
import functools
from typing import Any, Literal

import attrs

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

#: The variable types every installation knows; plugins may add more.
BUILTIN_TYPES = ("str", "int", "float", "bool", "choice", "multichoice", "json")

Condition = str | bool


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@attrs.frozen
class Choice:
    """One allowed value of a ``choice`` or ``multichoice`` variable."""

    value: Any = attrs.field(metadata=_doc("The value the answer takes."))
    label: str | None = attrs.field(
        default=None, metadata=_doc("What a person is shown; defaults to the value.")
    )

    @property
    def display(self) -> str:
        return self.label if self.label is not None else str(self.value)


@attrs.frozen
class Variable:
    """A typed question whose answer the template's files can use."""

    name: str = attrs.field(metadata=_doc("Identifier used in Jinja expressions."))
    type: str = attrs.field(
        default="str",
        metadata=_doc("One of str, int, float, bool, choice, multichoice, json or a plugin type."),
    )
    help: str = attrs.field(default="", metadata=_doc("What the question asks."))
    default: Any = attrs.field(
        default=None,
        metadata=_doc("Default answer; a string may be a Jinja template over earlier answers."),
    )
    choices: tuple[Choice, ...] = attrs.field(
        default=(), metadata=_doc("Allowed values (choice, multichoice); plain values or objects.")
    )
    pattern: str | None = attrs.field(
        default=None, metadata=_doc("A regular expression the whole answer must match.")
    )
    validator: str | None = attrs.field(
        default=None,
        metadata=_doc("A Jinja template; a non-empty output is the error message shown."),
    )
    when: Condition = attrs.field(
        default=True,
        metadata=_doc("Ask only if this Jinja expression is true; else the default is taken."),
    )
    secret: bool = attrs.field(
        default=False, metadata=_doc("Never echoed, logged or written to an answers file.")
    )


@attrs.frozen
class FileSpec:
    """One file of the template's tree."""

    path: str = attrs.field(
        metadata=_doc(
            "Relative output path with '/' separators; may hold Jinja expressions. A path "
            "ending in '/' is a directory entry: a folder created even when no file lies "
            "in it, with no content."
        )
    )
    content: str = attrs.field(default="", metadata=_doc("The file's text, or base64 bytes."))
    encoding: Literal["utf-8", "base64"] = attrs.field(
        default="utf-8", metadata=_doc("base64 marks binary content, which is never rendered.")
    )
    render: bool = attrs.field(
        default=True, metadata=_doc("False copies the content as it is, without Jinja.")
    )
    when: Condition = attrs.field(
        default=True, metadata=_doc("Write the file only if this Jinja expression is true.")
    )
    skip_if_exists: bool = attrs.field(
        default=False, metadata=_doc("Keep an existing file at the destination untouched.")
    )
    mode: int | None = attrs.field(
        default=None, metadata=_doc("Permission bits, e.g. 493 or the string '0755'.")
    )
    symlink: bool = attrs.field(
        default=False,
        metadata=_doc(
            "A symbolic link: the content (rendered unless render is false) is its target, "
            "relative to the link's folder, and must stay inside the destination."
        ),
    )

    @property
    def is_binary(self) -> bool:
        return self.encoding == "base64"

    @property
    def is_dir(self) -> bool:
        """A directory entry: the path ends in '/'."""
        return self.path.endswith("/")

    @property
    def data(self) -> bytes:
        """The raw bytes of the file (decoded from base64 or encoded as UTF-8)."""
        if self.is_binary:
            return base64.b64decode(self.content, validate=True)
        return self.content.encode("utf-8")

    @classmethod
    def from_bytes(cls, path: str, data: bytes, **kwargs: Any) -> FileSpec:
        """A spec for raw bytes: text when they are UTF-8 without NULs, else base64."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or "\x00" in text:
            encoded = base64.b64encode(data).decode("ascii")
            return cls(path=path, content=encoded, encoding="base64", render=False, **kwargs)
        return cls(path=path, content=text, **kwargs)


def is_valid_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


@attrs.frozen
class EnvOptions:
    """Jinja syntax options (Copier's ``_envops``)."""

    block_start_string: str = "{%"
    block_end_string: str = "%}"
    variable_start_string: str = "{{"
    variable_end_string: str = "}}"
    comment_start_string: str = "{#"
    comment_end_string: str = "#}"
    line_statement_prefix: str | None = None
    line_comment_prefix: str | None = None
    trim_blocks: bool = False
    lstrip_blocks: bool = False
    keep_trailing_newline: bool = True
    strict_undefined: bool = True

    @property
    def markers(self) -> tuple[str, ...]:
        """Strings whose presence means a text needs Jinja at all."""
        return _markers(self)


@functools.lru_cache(maxsize=64)
def _markers(envops: EnvOptions) -> tuple[str, ...]:
    found = (
        envops.block_start_string,
        envops.variable_start_string,
        envops.comment_start_string,
        envops.line_statement_prefix,
        envops.line_comment_prefix,
    )
    return tuple(m for m in found if m)


@attrs.frozen
class TrustedEnvOptions(EnvOptions):
    """:class:`EnvOptions` plus the Jinja extensions a trusted template loads.

    Never read from a definition: :func:`launchpad_core.launchpad.trusting` makes
    one from ``settings.jinja_extensions`` when the local user trusts the
    template, and the engine then builds an environment with those extensions.
    """

    extensions: tuple[str, ...] = ()
    #: A directory holding the template's own modules (``settings.code_files``): on
    #: ``sys.path`` while the extensions load (Cookiecutter's repo dir) and the
    #: loader's search path (Copier's template root, for ``copier-template-extensions``).
    code_root: str | None = None


@attrs.frozen
class Settings:
    """Template-wide rendering settings."""

    copy_without_render: tuple[str, ...] = attrs.field(
        default=(), metadata=_doc("Glob patterns of output paths copied without Jinja.")
    )
    exclude: tuple[str, ...] = attrs.field(
        default=(), metadata=_doc("Glob patterns of output paths never written.")
    )
    skip_if_exists: tuple[str, ...] = attrs.field(
        default=(), metadata=_doc("Glob patterns of output paths kept if they exist.")
    )
    envops: EnvOptions = attrs.field(
        factory=EnvOptions, metadata=_doc("Jinja syntax options.")
    )
    answers_file: str | None = attrs.field(
        default=None,
        metadata=_doc("Templated path of a YAML file recording the non-secret answers."),
    )
    generators: dict[str, dict[str, Any]] = attrs.field(
        factory=dict,
        metadata=_doc("File generators to run, by name, with options (Jinja over answers)."),
    )
    context_name: str | None = attrs.field(
        default=None,
        metadata=_doc("Also expose all answers as one mapping of this name (e.g. cookiecutter)."),
    )
    origin: dict[str, Any] = attrs.field(
        factory=dict,
        metadata=_doc(
            "What an importer recorded about a foreign template (format, source, tool "
            "settings); plain data read by that importer's plugin."
        ),
    )
    jinja_extensions: tuple[str, ...] = attrs.field(
        default=(),
        metadata=_doc("Import paths of Jinja extensions to load: executed code, only if trusted."),
    )
    tasks: tuple[dict[str, Any], ...] = attrs.field(
        default=(),
        metadata=_doc(
            "Commands or scripts run before or after writing (Copier tasks, Cookiecutter "
            "hooks): executed code, run only if trusted."
        ),
    )
    code_files: tuple[FileSpec, ...] = attrs.field(
        default=(),
        metadata=_doc(
            "Sources of the executed code (hook scripts, local Jinja extensions); never "
            "written to the output."
        ),
    )


@attrs.frozen
class Template:
    """A file tree plus typed variables and settings."""

    name: str = attrs.field(metadata=_doc("Short name of the template."))
    version: str = attrs.field(default="0.1.0", metadata=_doc("Version of this definition."))
    description: str = attrs.field(default="", metadata=_doc("What the template makes."))
    variables: tuple[Variable, ...] = attrs.field(
        default=(), metadata=_doc("Questions, asked in this order.")
    )
    files: tuple[FileSpec, ...] = attrs.field(default=(), metadata=_doc("The file tree."))
    settings: Settings = attrs.field(factory=Settings, metadata=_doc("Rendering settings."))
    schema: str | None = attrs.field(
        default=None, metadata=_doc("URL of the JSON Schema, for editors ($schema).")
    )

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)
