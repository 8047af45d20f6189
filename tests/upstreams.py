"""A second, independent registry to act as the upstream of proxy repositories in tests.

It has its own SQLite database, blob store and admin user, no broker (tasks in process), and
shares nothing with the registry under test but the code. Its gunicorn access log counts what
the proxy fetched from it.
"""

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.live import ROOT, LiveServer, child_environment, settled_text, start_server

ADMIN, ADMIN_PASSWORD = "upstream-admin", "upstream-secret-1"


@dataclass
class UpstreamRegistry:
    """A running second registry: ``url``/``host`` as clients reach it, ``manage`` to set it up."""

    directory: Path
    env: dict[str, str]
    server: LiveServer | None = None
    username: str = ADMIN
    password: str = ADMIN_PASSWORD
    repositories: set[str] = field(default_factory=set)
    port: int | None = None

    @property
    def url(self) -> str:
        assert self.server is not None, "the upstream is stopped"
        return self.server.url

    @property
    def host(self) -> str:
        assert self.server is not None, "the upstream is stopped"
        return self.server.host

    def manage(self, *args: str) -> str:
        """Run ``manage.py ARGS`` against this registry's database; return its output."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=child_environment(**self.env),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done.stdout

    def repository(self, name: str, format: str, *extra: str) -> str:
        """Create a public hosted repository once; return its base URL (``/repository/NAME/``)."""
        if name not in self.repositories:
            self.manage("createrepo", name, "--format", format, "--public", *extra)
            self.repositories.add(name)
        return f"{self.url}/repository/{name}/"

    def start(self) -> None:
        """Start (or restart, on the same port) the server; the data stays, the log restarts."""
        if self.server is None:
            self.server = start_server(self.directory, port=self.port, **self.env)
            self.port = int(self.server.host.rpartition(":")[2])

    def stop(self) -> None:
        """Stop the server: the upstream goes down until ``start``."""
        if self.server is not None:
            self.server.stop()
            self.server = None

    def requests_for(self, fragment: str) -> int:
        """How many requests whose access-log line contains ``fragment`` this server answered."""
        text = settled_text(self.directory / "server.log")
        # gunicorn's lines (tests/live.py keeps them): they carry the query string too.
        access = (line for line in text.splitlines() if " HTTP/1." in line)
        return sum(1 for line in access if fragment in line)


@pytest.fixture(scope="session")
def _upstream_registry(tmp_path_factory) -> Iterator[UpstreamRegistry]:
    directory = tmp_path_factory.mktemp("upstream-registry")
    env = {
        "DATABASE_URL": f"sqlite:///{directory / 'upstream.sqlite3'}",
        "REGISTRY_VAR_DIR": str(directory / "var"),
        "CELERY_BROKER_URL": "",
        "MIRROR_DIR": "",
    }
    upstream = UpstreamRegistry(directory=directory, env=env)
    upstream.manage("migrate", "--noinput", "-v0")
    upstream.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        f"User.objects.create_superuser({ADMIN!r}, 'upstream@example.invalid', {ADMIN_PASSWORD!r})",
    )
    upstream.start()
    yield upstream
    upstream.stop()


@pytest.fixture
def upstream_registry(_upstream_registry: UpstreamRegistry) -> UpstreamRegistry:
    """The second registry, running (a test that stopped it gets it restarted)."""
    _upstream_registry.start()
    return _upstream_registry
