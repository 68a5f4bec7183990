"""Built-in importers of foreign templates, registered as default plugins.

* :mod:`.copier`: Copier 9 templates (``copier.yml``);
* :mod:`.cookiecutter`: Cookiecutter 2 templates (``cookiecutter.json``);
* :mod:`.launchpad`: LaunchPad template directories (``launchpad.yml``), as one definition.

Each turns a template directory into a LaunchPad definition whose rendering
gives the original tool's output byte for byte, and contributes through the
ordinary hooks what that tool gives every template (filters, globals, the
render context). See :mod:`launchpad_core.importers.importing` for the entry points.
"""
