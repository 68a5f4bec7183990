"""The Jinja filters Copier gives every template, written for LaunchPad.

Copier loads ``jinja2_ansible_filters.AnsibleCoreFiltersExtension``; these
are the same filters, with the same output, minus those that read the file
system or the environment (``fileglob``, ``realpath``, ``expanduser`` ...),
which a sandboxed render must not offer. Plus Copier's ``pathjoin`` global.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import ntpath
import posixpath
import random
import re
import time
from collections.abc import Callable, Mapping
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import Any

from jinja2 import pass_environment
from jinja2.exceptions import FilterArgumentError
from jinja2.runtime import Undefined

from ..render import regexes
from ..render.sandbox import refuse_beyond

_UUID_NAMESPACE = "20851c88-ac15-449f-9ee7-74829105da86"
_PATH_TYPES = {"posix": PurePosixPath, "windows": PureWindowsPath, "native": PurePath}


def to_uuid(string: Any) -> str:
    import uuid  # with shlex below: imported by the few templates that use them

    return str(uuid.uuid5(uuid.UUID(_UUID_NAMESPACE), str(string)))


def quote(value: Any) -> str:
    import shlex

    return shlex.quote(_text(value))


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value if isinstance(value, str) else str(value)


def _bytes(value: Any, encoding: str = "utf-8") -> bytes:
    return value if isinstance(value, bytes) else _text(value).encode(encoding, "surrogateescape")


# YAML is imported by the filters that use it, not by every render.
def to_yaml(value: Any, *args: Any, **kwargs: Any) -> str:
    import yaml

    flow = kwargs.pop("default_flow_style", None)
    return yaml.dump(value, *args, allow_unicode=True, default_flow_style=flow, **kwargs)


def to_nice_yaml(value: Any, indent: int = 4, *args: Any, **kwargs: Any) -> str:
    import yaml

    return yaml.dump(
        value, *args, indent=indent, allow_unicode=True, default_flow_style=False, **kwargs
    )


def to_json(value: Any, *args: Any, **kwargs: Any) -> str:
    return json.dumps(value, *args, **kwargs)


def to_nice_json(
    value: Any, indent: int = 4, sort_keys: bool = True, *args: Any, **kwargs: Any
) -> str:
    try:
        return json.dumps(
            value, *args, indent=indent, sort_keys=sort_keys, separators=(",", ": "), **kwargs
        )
    except Exception:
        return to_json(value, *args, **kwargs)


def from_yaml(data: Any) -> Any:
    return _read_yaml("from_yaml", data, all_documents=False)


def from_yaml_all(data: Any) -> Any:
    return _read_yaml("from_yaml_all", data, all_documents=True)


def _read_yaml(name: str, data: Any, *, all_documents: bool) -> Any:
    """Plain YAML only (``safe_load``): a tag such as ``!!python/object`` or malformed
    text is a ValueError, which rendering reports as the template's error."""
    import yaml

    if not isinstance(data, str):
        return data
    try:
        return list(yaml.safe_load_all(data)) if all_documents else yaml.safe_load(data)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"{name}: only plain YAML is read here; {problem}") from None


def to_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        value = value.lower()
    return value in ("yes", "on", "1", "true", 1)


def ternary(value: Any, true_val: Any, false_val: Any, none_val: Any = None) -> Any:
    if value is None and none_val is not None:
        return none_val
    return true_val if value else false_val


@pass_environment
def regex_replace(
    environment: Any,
    value: Any = "",
    pattern: str = "",
    replacement: str = "",
    ignorecase: bool = False,
) -> str:
    flags = regexes.IGNORECASE if ignorecase else 0
    return regexes.run("sub", pattern, replacement, _text(value),
                       seconds=regexes.seconds_for(environment), flags=flags)


@pass_environment
def regex_findall(
    environment: Any, value: str, regex: str, multiline: bool = False, ignorecase: bool = False
) -> list[Any]:
    flags = (regexes.IGNORECASE if ignorecase else 0) | (regexes.MULTILINE if multiline else 0)
    return regexes.run("findall", regex, value, seconds=regexes.seconds_for(environment),
                       flags=flags)


@pass_environment
def regex_search(environment: Any, value: str, regex: str, *args: str, **kwargs: Any) -> Any:
    groups: list[int | str] = []
    for arg in args:
        named = re.match(r"\\g<(\S+)>", arg)
        numbered = re.match(r"\\(\d+)", arg)
        if named:
            groups.append(named.group(1))
        elif numbered:
            groups.append(int(numbered.group(1)))
        else:
            raise FilterArgumentError("Unknown argument")
    ignorecase, multiline = kwargs.get("ignorecase"), kwargs.get("multiline")
    flags = (regexes.IGNORECASE if ignorecase else 0) | (regexes.MULTILINE if multiline else 0)
    match = regexes.run("search", regex, value, seconds=regexes.seconds_for(environment),
                        flags=flags)
    if not match:
        return None
    return [match.group(g) for g in groups] if groups else match.group()


def regex_escape(string: str, re_type: str = "python") -> str:
    if re_type == "python":
        return re.escape(string)
    if re_type == "posix_basic":
        return re.sub(r"([].[^$*\\])", r"\\\1", string)
    raise FilterArgumentError(f"regex type {re_type!r} is not supported")


def get_hash(data: Any, hashtype: str = "sha1") -> str | None:
    try:
        digest = hashlib.new(hashtype)
    except ValueError:
        return None
    digest.update(_bytes(data))
    return digest.hexdigest()


def b64encode(string: Any, encoding: str = "utf-8") -> str:
    return base64.b64encode(_bytes(string, encoding)).decode("utf-8", "surrogateescape")


def b64decode(string: Any, encoding: str = "utf-8") -> str:
    return base64.b64decode(_bytes(string)).decode(encoding, "surrogateescape")


def strftime(string_format: str, second: Any = None) -> str:
    if second is not None:
        try:
            second = int(second)
        except (TypeError, ValueError):
            raise FilterArgumentError(f"Invalid value for epoch value ({second})") from None
    return time.strftime(string_format, time.localtime(second))


def mandatory(value: Any, msg: str | None = None) -> Any:
    if isinstance(value, Undefined):
        if msg is not None:
            raise FilterArgumentError(msg)
        name = f'"{value._undefined_name}" ' if value._undefined_name is not None else ""
        raise FilterArgumentError(f"Mandatory variable {name}not defined.")
    return value


def flatten(items: Any, levels: int | None = None) -> list[Any]:
    flat: list[Any] = []
    for element in items:
        if element in (None, "None", "null"):
            break
        if isinstance(element, list | tuple) and (levels is None or levels >= 1):
            flat.extend(flatten(element, None if levels is None else int(levels) - 1))
        else:
            flat.append(element)
    return flat


def _merge(low: Mapping[str, Any], high: Mapping[str, Any], recursive: bool) -> dict[str, Any]:
    merged = dict(low)
    for key, value in high.items():
        both_dicts = isinstance(value, Mapping) and isinstance(merged.get(key), Mapping)
        merged[key] = _merge(merged[key], value, True) if recursive and both_dicts else value
    return merged


def combine(*terms: Any, recursive: bool = False, list_merge: str = "replace") -> dict[str, Any]:
    if list_merge != "replace":
        raise FilterArgumentError("only list_merge='replace' is supported")
    dictionaries = flatten(terms, levels=1)
    result: dict[str, Any] = {}
    for dictionary in dictionaries:
        result = _merge(result, dictionary, recursive)
    return result


@pass_environment
def comment(environment: Any, text: str, style: str = "plain", **kwargs: Any) -> str:
    styles = {
        "plain": {"decoration": "# "},
        "erlang": {"decoration": "% "},
        "c": {"decoration": "// "},
        "cblock": {"beginning": "/*", "decoration": " * ", "end": " */"},
        "xml": {"beginning": "<!--", "decoration": " - ", "end": "-->"},
    }
    style_params = styles[style]
    affix = kwargs.get("decoration", style_params["decoration"]).rstrip()
    p = {"newline": "\n", "beginning": "", "prefix": affix, "prefix_count": 1,
         "decoration": "", "postfix": affix, "postfix_count": 1, "end": ""}
    p.update(style_params)
    p.update(kwargs)
    nl, deco = p["newline"], p["decoration"]
    beginning = f"{p['beginning']}{nl}" if p["beginning"] else ""
    one = "" if not p["prefix"] else nl if p["prefix"] == nl else f"{p['prefix']}{nl}"
    prefixes, postfixes = max(0, int(p["prefix_count"])), max(0, int(p["postfix_count"]))
    size = (len(one) * prefixes + (len(nl) + len(p["postfix"])) * postfixes
            + len(text) + (text.count(nl) + 1) * len(deco))
    refuse_beyond(environment, size, "a comment")
    prefix = one * prefixes
    body = f"{deco}{text.replace(nl, nl + deco)}".replace(deco + nl, deco.rstrip() + nl)
    postfix = nl.join([""] + [p["postfix"]] * postfixes)
    end = f"{nl}{p['end']}" if p["end"] else ""
    return f"{beginning}{prefix}{body}{postfix}{end}"


def shuffle(items: Any, seed: Any = None) -> list[Any]:
    shuffled = list(items)
    (random.Random(seed) if seed else random.SystemRandom()).shuffle(shuffled)
    return shuffled


def ans_random(end: Any, start: int | None = None, step: int | None = None, seed: Any = None):
    rng = random.SystemRandom() if seed is None else random.Random(seed)
    if isinstance(end, int):
        return rng.randrange(start or 0, end, step or 1)
    if hasattr(end, "__iter__"):
        if start or step:
            raise FilterArgumentError("start and step can only be used with integer values")
        return rng.choice(list(end))
    raise FilterArgumentError("random can only be used on sequences and integers")


def pathjoin(*path: str, mode: str = "posix") -> str:
    """Copier's global that joins path parts for an OS (posix, windows or native)."""
    return str(_PATH_TYPES[mode](*path))


FILTERS: Mapping[str, Callable[..., Any]] = {
    "b64decode": b64decode,
    "b64encode": b64encode,
    "to_uuid": to_uuid,
    "to_json": to_json,
    "to_nice_json": to_nice_json,
    "from_json": json.loads,
    "to_yaml": to_yaml,
    "to_nice_yaml": to_nice_yaml,
    "from_yaml": from_yaml,
    "from_yaml_all": from_yaml_all,
    "basename": posixpath.basename,
    "dirname": posixpath.dirname,
    "splitext": posixpath.splitext,
    "win_basename": ntpath.basename,
    "win_dirname": ntpath.dirname,
    "win_splitdrive": ntpath.splitdrive,
    "bool": to_bool,
    "to_datetime": lambda string, format="%Y-%m-%d %H:%M:%S": datetime.datetime.strptime(
        string, format
    ),
    "strftime": strftime,
    "quote": quote,
    "md5": lambda data: get_hash(data, "md5"),
    "sha1": lambda data: get_hash(data, "sha1"),
    "checksum": lambda data: get_hash(data, "sha1"),
    "hash": get_hash,
    "regex_replace": regex_replace,
    "regex_escape": regex_escape,
    "regex_search": regex_search,
    "regex_findall": regex_findall,
    "ternary": ternary,
    "ans_random": ans_random,
    "shuffle": shuffle,
    "mandatory": mandatory,
    "comment": comment,
    "type_debug": lambda value: value.__class__.__name__,
    "combine": combine,
    "flatten": flatten,
}

GLOBALS: Mapping[str, Any] = {"pathjoin": pathjoin}
