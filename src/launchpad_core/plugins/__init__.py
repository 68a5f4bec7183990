"""Plugins: every hook (``hookspecs``), the manager (``manager``), and the interfaces plugins
implement (billing providers, forges, file generators)."""
