"""File generators for LaunchPad: LICENSE, .gitignore, .editorconfig, GitHub Actions CI.

Installed, the package registers :mod:`launchpad_generators.plugin` in the
``launchpad`` entry-point group under the name ``generators``.
"""

__version__ = "0.1.0"
