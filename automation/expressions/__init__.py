"""Sandboxed Jinja2 expressions and templates, and the lazily read scope they run in."""
