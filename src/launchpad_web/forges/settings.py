"""Settings of the forges: part of :class:`~launchpad_web.settings.WebSettings`.

``LAUNCHPAD_ENCRYPTION_KEYS`` holds Fernet keys, comma-separated, the newest first:
tokens are encrypted under the first and read under any (``launchpad keys
rotate`` re-encrypts them all under the first). Without keys the forges are off.
Each ``LAUNCHPAD_FORGE_<NAME>_<KEY>`` variable becomes ``forges[name][key]`` (both
lowercase), the settings the ``launchpad_forges`` hook hands to the plugins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs
from cryptography.fernet import Fernet

from ..errors import ConfigurationError

FORGE_VARIABLE = re.compile(r"LAUNCHPAD_FORGE_([A-Z0-9]+)_([A-Z0-9_]+)")


@attrs.frozen
class ForgeSettings:
    encryption_keys: tuple[str, ...] = attrs.field(default=(), repr=False)
    forges: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict, repr=False)

    @property
    def enabled(self) -> bool:
        return bool(self.encryption_keys)

    @classmethod
    def from_env(cls, values: Mapping[str, str]) -> ForgeSettings:
        keys = tuple(k.strip() for k in (values.get("LAUNCHPAD_ENCRYPTION_KEYS") or "").split(",")
                     if k.strip())
        for number, key in enumerate(keys, 1):
            try:
                Fernet(key)
            except ValueError:
                raise ConfigurationError(
                    f"LAUNCHPAD_ENCRYPTION_KEYS: key {number} is not a Fernet key (32 url-safe "
                    "base64-encoded bytes); `launchpad keys generate` prints one") from None
        forges: dict[str, dict[str, str]] = {}
        for name, value in values.items():
            match = FORGE_VARIABLE.fullmatch(name)
            if match and value.strip():
                forges.setdefault(match[1].lower(), {})[match[2].lower()] = value.strip()
        return cls(encryption_keys=keys, forges=forges)
