"""Rendering: the sandboxed Jinja environment and engine, the compile cache, output path rules,
limits and deadlines, sinks (directory, zip, tar.gz, manifest) and a template's tasks."""
