"""Rendering of uploader-supplied READMEs (Markdown, reStructuredText, text), sanitized with nh3."""

import hashlib

import nh3
from django.core.cache import cache
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


# Bump when rendering or sanitizing changes, so pages stop showing HTML cached by older code.
RENDERER_VERSION = 1
CACHE_SECONDS = 7 * 24 * 3600


def _rst(text: str) -> str:
    parts = publish_parts(text, writer="html5", settings_overrides=_RST_SETTINGS)
    return parts["html_body"]


def render_readme(text: str, *, readme_format: str) -> SafeString:
    """Return safe HTML for a README written in Markdown, reStructuredText or plain text.

    Rendering a long README costs more than the rest of a package page, so the sanitized HTML
    is cached under the digest of the text (a README never changes without its digest).
    """
    digest = hashlib.sha256(text.encode()).hexdigest()
    key = f"readme:{RENDERER_VERSION}:{readme_format}:{digest}"
    html = cache.get(key)
    if html is None:
        html = _sanitized(text, readme_format=readme_format)
        cache.set(key, html, CACHE_SECONDS)
    return mark_safe(html)


def _sanitized(text: str, *, readme_format: str) -> str:
    if readme_format == "markdown":
        html = _markdown.render(text)
    elif readme_format == "rst":
        html = _rst(text)
    else:
        html = f"<pre>{escape(text)}</pre>"
    return nh3.clean(html, link_rel="nofollow noopener noreferrer")
