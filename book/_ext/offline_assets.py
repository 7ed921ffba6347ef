"""Keep the book offline: drop the script that sphinx-thebe always adds although the book has no
launch buttons (it names thebe's CDN URL), and warn about any other script or stylesheet loaded
from another host, so that a build with -W fails instead of shipping it."""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

UNUSED_SCRIPTS = ("unpkg.com/thebe",)  # sphinx-thebe's THEBE_JS_URL, used only by a launch button
logger = logging.getLogger(__name__)


def _is_remote(url: Any) -> bool:
    return str(url or "").startswith(("http://", "https://", "//"))


def keep_assets_local(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """html-page-context handler: filter context["script_files"], check context["css_files"]."""
    scripts = []
    for script in context.get("script_files", []):
        body = getattr(script, "attributes", {}).get("body", "") or ""
        if any(marker in body for marker in UNUSED_SCRIPTS):
            continue
        if _is_remote(getattr(script, "filename", script)):
            logger.warning(f"{pagename}: script from another host: {script.filename} (the book must work offline)")
        scripts.append(script)
    context["script_files"] = scripts
    for sheet in context.get("css_files", []):
        if _is_remote(getattr(sheet, "filename", sheet)):
            logger.warning(f"{pagename}: stylesheet from another host: {sheet.filename} (the book must work offline)")


def setup(app: Sphinx) -> dict[str, bool]:
    app.connect("html-page-context", keep_assets_local)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
