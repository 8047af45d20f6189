"""formats.npm.renderers: search and audit answers."""

from formats.npm import renderers
from tests.formats.npm.helpers import (
    T0,
)


def test_build_search_results():
    result = renderers.build_search_results(
        hits=[
            {
                "name": "tinypkg",
                "version": "1.0.0",
                "description": "A tiny package",
                "keywords": ["tiny"],
                "date": T0,
                "links": {"npm": "http://registry.test/-/web/detail/tinypkg"},
                "publisher": {"username": "alice", "email": "alice@example.com"},
                "maintainers": [{"username": "alice", "email": "alice@example.com"}],
                "score": 0.5,
            },
            {"name": "@acme/widget", "version": "2.0.0", "date": T0},
        ],
        total=7,
        now=T0,
    )

    assert result == {
        "objects": [
            {
                "package": {
                    "name": "tinypkg",
                    "version": "1.0.0",
                    "description": "A tiny package",
                    "keywords": ["tiny"],
                    "date": "2026-11-26T20:43:52.123Z",
                    "links": {"npm": "http://registry.test/-/web/detail/tinypkg"},
                    "publisher": {"username": "alice", "email": "alice@example.com"},
                    "maintainers": [{"username": "alice", "email": "alice@example.com"}],
                },
                "score": {
                    "final": 0.5,
                    "detail": {"quality": 0.5, "popularity": 0.5, "maintenance": 0.5},
                },
                "searchScore": 0.5,
            },
            {
                "package": {
                    "name": "@acme/widget",
                    "version": "2.0.0",
                    "description": "",
                    "keywords": [],
                    "date": "2026-11-26T20:43:52.123Z",
                    "links": {},
                    "publisher": {},
                    "maintainers": [],
                },
                "score": {
                    "final": 1.0,
                    "detail": {"quality": 1.0, "popularity": 1.0, "maintenance": 1.0},
                },
                "searchScore": 1.0,
            },
        ],
        "total": 7,
        "time": "Thu Nov 26 2026 20:43:52 GMT+0000 (Coordinated Universal Time)",
    }


def test_empty_audit_answers():
    assert renderers.empty_audit_bulk() == {}
    quick = renderers.empty_audit_quick()
    assert quick == {
        "actions": [],
        "advisories": {},
        "muted": [],
        "metadata": {
            "vulnerabilities": {"info": 0, "low": 0, "moderate": 0, "high": 0, "critical": 0},
            "dependencies": 0,
            "devDependencies": 0,
            "optionalDependencies": 0,
            "totalDependencies": 0,
        },
    }
    quick["advisories"]["x"] = 1
    assert renderers.empty_audit_quick()["advisories"] == {}
