"""What the request middleware (request id, access line, metrics) costs per request.

One process, one run: the same requests go through Django's WSGI handler with the client
middleware of ``settings.CLIENT_MIDDLEWARE`` and with that list minus
``RequestLogMiddleware``; the access lines go to a file as they would to a log collector.
Reported: CPU microseconds per request of each and their ratio, for ``/-/health`` (the cheapest
view: the worst case) and a 4 KiB raw file download (a cached read).

Usage: ``.venv/bin/python bench/requestlog.py [--requests 5000]``. Not part of the test suite.
"""

import argparse
import io
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = Path(tempfile.mkdtemp(prefix="bench-requestlog-"))
os.environ.update(
    DJANGO_SETTINGS_MODULE="registry_project.settings.base",
    REGISTRY_VAR_DIR=str(VAR),
    DATABASE_URL=f"sqlite:///{VAR / 'db.sqlite3'}",
    CELERY_BROKER_URL="",
    REGISTRY_IN_PROCESS_SCHEDULE="false",
    DOWNLOAD_STATS_FLUSH_SECONDS="0",  # no flush in the middle of one of the two
)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from registry_project.wsgi import ClientHandler  # noqa: E402

MIDDLEWARE = "registry_project.requestlog.RequestLogMiddleware"


def _handler(middleware: list[str]) -> ClientHandler:
    saved = settings.CLIENT_MIDDLEWARE
    settings.CLIENT_MIDDLEWARE = middleware
    try:
        return ClientHandler()
    finally:
        settings.CLIENT_MIDDLEWARE = saved


def _per_request(handler: ClientHandler, path: str, count: int) -> float:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "wsgi.input": io.BytesIO(),
        "wsgi.url_scheme": "http",
    }

    def start_response(status: str, headers: list) -> None:
        assert status.startswith("200"), status

    started = time.process_time()  # CPU time: other processes' load counts less
    for _ in range(count):
        body = handler(dict(environ, **{"wsgi.input": io.BytesIO()}), start_response)
        for _chunk in body:
            pass
        body.close()
    return (time.process_time() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    count = parser.parse_args().requests
    call_command("migrate", "--noinput", verbosity=0)
    from formats.models import Repository
    from formats.raw.services import raw_file_put

    repository = Repository.objects.create(name="bench", format="raw", anonymous_read=True)
    raw_file_put(
        repository=repository,
        path="f.bin",
        stream=io.BytesIO(b"x" * 4096),
        content_type="",
        user=None,  # type: ignore[arg-type]
    )
    log = logging.getLogger("registry.access")
    log.handlers = [logging.FileHandler(VAR / "access.log")]
    log.propagate = False
    with_log = _handler(list(settings.CLIENT_MIDDLEWARE))
    without = _handler([m for m in settings.CLIENT_MIDDLEWARE if m != MIDDLEWARE])
    print(f"{'path':<24}{'with µs':>10}{'without µs':>12}{'ratio':>8}")
    for path in ("/-/health", "/repository/bench/f.bin"):
        for handler in (with_log, without):  # warm up both
            _per_request(handler, path, 200)
        # Interleaved rounds, best of each: the machine's noise hits both alike.
        rounds = [
            (_per_request(with_log, path, count), _per_request(without, path, count))
            for _ in range(5)
        ]
        a, b = min(r[0] for r in rounds), min(r[1] for r in rounds)
        print(f"{path:<24}{a:>10.1f}{b:>12.1f}{a / b:>8.2f}")


if __name__ == "__main__":
    main()
