"""Small fixes to the HTML the book's theme writes (loaded through `_config.yml`)."""

from __future__ import annotations


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    """sphinx-thebe adds its inline `const THEBE_JS_URL = ...` script twice; the second
    declaration is a script error in every browser. Keep the first copy of each script."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        filename = getattr(script, "filename", script) or ""  # inline scripts: None or ""
        key = (str(filename), tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
