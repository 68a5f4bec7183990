"""Email addresses: one normal form and a sensible syntax check (no DNS).

Normal form: surrounding whitespace stripped, then the whole address lowercased
(NFC first). Local parts are case-insensitive at every provider that matters, and
treating ``Ann@x.org`` and ``ann@x.org`` as two accounts invites confusion and
takeover. The stored ``users.email`` is always in this form, so the unique
index is enough.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NewType

Email = NewType("Email", str)

MAX_LENGTH = 320
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\U0010ffff-]+"
_LOCAL = rf"{_ATOM}(?:\.{_ATOM})*"
_ALNUM = r"[A-Za-z0-9\u0080-\U0010ffff]"
_LABEL = rf"{_ALNUM}(?:[A-Za-z0-9\u0080-\U0010ffff-]{{0,61}}{_ALNUM})?"
_PATTERN = re.compile(rf"{_LOCAL}@(?:{_LABEL}\.)+{_LABEL}")


def normalize_email(text: str) -> Email:
    """The normal form of ``text``, or ValueError with a message for people."""
    email = unicodedata.normalize("NFC", text.strip()).lower()
    if len(email) > MAX_LENGTH:
        raise ValueError(f"an email address has at most {MAX_LENGTH} characters")
    local, _, _domain = email.rpartition("@")
    if not _PATTERN.fullmatch(email) or len(local) > 64:
        raise ValueError("not a valid email address")
    return Email(email)
