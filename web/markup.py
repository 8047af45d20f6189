"""Rendering of uploader-supplied READMEs: Markdown to HTML, then sanitized with nh3."""

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

# CommonMark with tables and strikethrough; raw HTML passes through to nh3, which keeps only
# harmless tags and attributes and drops scripts, event handlers and javascript: URLs.
_markdown = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def render_readme(text: str, *, readme_format: str) -> SafeString:
    """Return safe HTML for a README written in Markdown or plain text."""
    markdown = readme_format == "markdown"
    html = _markdown.render(text) if markdown else f"<pre>{escape(text)}</pre>"
    return mark_safe(nh3.clean(html, link_rel="nofollow noopener noreferrer"))
