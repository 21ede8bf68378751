"""Small fixes to the HTML the book's theme writes (loaded through `_config.yml`)."""

from __future__ import annotations

import re
from pathlib import Path

# pydata-sphinx-theme 0.15 loads Font Awesome twice: as CSS with web fonts (enough to draw every
# icon) and as a 1.5 MB script that swaps the same icons for SVG. Readers get the fonts only.
FONTAWESOME_SCRIPT = re.compile(r'\s*<script src="[^"]*_static/vendor/fontawesome/[^"]*/js/all\.min\.js[^"]*"></script>')


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


def _default_mode(app, pagename, templatename, context, doctree):
    """Without a default mode the theme logs "Got invalid theme mode" on a first visit."""
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def _drop_fontawesome_script(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        lighter = FONTAWESOME_SCRIPT.sub("", text)
        if lighter != text:
            page.write_text(lighter, encoding="utf-8")


def setup(app):
    app.connect("html-page-context", _default_mode)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    app.connect("build-finished", _drop_fontawesome_script)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
