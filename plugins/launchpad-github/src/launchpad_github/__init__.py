"""GitHub as a forge of LaunchPad's hosted service.

Installed, the package registers :mod:`launchpad_github.plugin` in the
``launchpad`` entry-point group under the name ``github``; it answers the
``launchpad_forges`` hook when ``LAUNCHPAD_FORGE_GITHUB_CLIENT_ID`` is set.
"""

__version__ = "0.1.0"
