"""Rendering of uploader-supplied READMEs (Markdown, reStructuredText, text), sanitized with nh3."""

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from docutils.core import publish_parts
from markdown_it import MarkdownIt

# CommonMark with tables and strikethrough; raw HTML passes through to nh3, which keeps only
# harmless tags and attributes and drops scripts, event handlers and javascript: URLs.
_markdown = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

# docutils on untrusted input, as readme_renderer (PyPI) runs it: no raw HTML, no file
# inclusion, and no system messages in the page (a broken README still shows its text).
_RST_SETTINGS = {
    "raw_enabled": False,
    "file_insertion_enabled": False,
    "report_level": 5,
    "halt_level": 5,
    "warning_stream": False,
    "syntax_highlight": "none",
    "math_output": "HTML",
    "doctitle_xform": False,
}


def _rst(text: str) -> str:
    parts = publish_parts(text, writer="html5", settings_overrides=_RST_SETTINGS)
    return parts["html_body"]


def render_readme(text: str, *, readme_format: str) -> SafeString:
    """Return safe HTML for a README written in Markdown, reStructuredText or plain text."""
    if readme_format == "markdown":
        html = _markdown.render(text)
    elif readme_format == "rst":
        html = _rst(text)
    else:
        html = f"<pre>{escape(text)}</pre>"
    return mark_safe(nh3.clean(html, link_rel="nofollow noopener noreferrer"))
