"""Default plugin: the free-only billing provider, when no plugin provides one.

Its own module, so that a command which never bills (``launchpad render``) does not
import the billing interface and its value classes to register it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .hookspecs import hookimpl

if TYPE_CHECKING:
    from .billing import BillingProvider


@hookimpl(trylast=True)
def launchpad_billing_provider(settings: Mapping[str, Any]) -> BillingProvider:
    from .billing import FreeOnlyProvider

    return FreeOnlyProvider()
