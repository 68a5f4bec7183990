"""The plugin LaunchPad loads from the ``launchpad`` entry-point group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from launchpad_core import hookimpl

if TYPE_CHECKING:
    from .provider import StripeProvider


@hookimpl
def launchpad_billing_provider(settings: Mapping[str, Any]) -> StripeProvider | None:
    if settings.get("provider") != "stripe":
        return None
    # Imported here: every `launchpad` command loads this module, and the stripe
    # library takes longer to import than LaunchPad renders a small template.
    from .provider import StripeProvider

    return StripeProvider.from_settings(settings)
