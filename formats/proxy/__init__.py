"""Proxy repositories: the upstream client, the metadata cache and cached files.

Formats use them through ``formats.plugin``: ``upstream_open``, ``proxy_document``,
``proxy_file``/``proxy_asset`` and ``proxy_invalidate``.
"""
