"""Benchmark the web UI's heaviest pages next to the management API's lists, on our server.

Measured: the milliseconds of a GET (median of ``--gets``, loopback, one keep-alive connection)
of a package page with 1,000 versions and of searches over ``--packages`` packages (a rare
name, and a word every package has: the first page of all of them), next to the API's
paginated list of the same versions and packages. Goal of issue 14: under 100 ms each. The
ratios say what a page costs beyond the API's list of the same rows.

Usage: ``.venv/bin/python bench/ui.py [--packages 100000] [--gets 30]``; set DATABASE_URL to
measure on PostgreSQL (SQLite in a temp dir otherwise). Loopback only. Not part of the suite.
"""

import argparse
import tempfile
import time
from pathlib import Path

import requests
from harness import RegistryServer, print_table

VERSIONS = 1000
# Rows made straight in the database: publishing 100,000 packages through a client would
# measure the upload path for hours, and the pages read rows, however they were written.
POPULATE = """
from django.contrib.auth.models import User
from formats.base import SearchTerms
from formats.models import Package, Repository, Version
from formats.services import package_search_refresh, package_search_text
repository = Repository.objects.get(name="bench-npm")
publisher = User.objects.get(username="bench")
def package(n):
    name, terms = f"pkg-{n:06d}", SearchTerms(f"package number {n}", ("bench",))
    return Package(repository=repository, name=name, normalized_name=name, summary=terms.summary,
                   search_text=package_search_text(name=name, normalized_name=name, terms=terms))
Package.objects.bulk_create((package(n) for n in range({packages})), batch_size=5000)
big = Package.objects.get(repository=repository, name="pkg-000000")
Version.objects.bulk_create(
    (Version(package=big, version=f"1.0.{n}", published_by=publisher) for n in range({versions})),
    batch_size=5000)
package_search_refresh(package=big)
from django.db import connection
with connection.cursor() as cursor:  # the statistics autovacuum (or a DBA) keeps current
    cursor.execute("ANALYZE")
print(big.pk)
"""


def latencies(session: requests.Session, url: str, gets: int) -> list[float]:
    """Milliseconds of ``gets`` GETs of ``url`` after one warm-up GET."""
    samples = []
    for attempt in range(gets + 1):
        started = time.perf_counter()
        response = session.get(url, timeout=120)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"GET {url}: {response.status_code}")
        if attempt:
            samples.append(elapsed)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=100_000)
    parser.add_argument("--gets", type=int, default=30)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as temp:
        server = RegistryServer(Path(temp), workers=2)
        with server:
            token = server.create_token("bench-npm", format="npm", public=True)
            script = POPULATE.replace("{packages}", str(options.packages))
            output = server.manage("shell", "-c", script.replace("{versions}", str(VERSIONS)))
            package_id = output.splitlines()[-1]  # after what the shell says it imported
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {token}"
            base = server.url
            pairs = [
                (
                    f"package page, {VERSIONS} versions",
                    f"{base}/ui/repositories/bench-npm/packages/pkg-000000/",
                    f"{base}/api/v1/versions/?package={package_id}",
                ),
                (
                    f"search, a rare name of {options.packages}",
                    f"{base}/ui/search?q=pkg-000777",
                    f"{base}/api/v1/packages/?repository=bench-npm&name=pkg-000777",
                ),
                (
                    f"search, a word all {options.packages} have",
                    f"{base}/ui/search?q=bench",
                    f"{base}/api/v1/packages/?repository=bench-npm",
                ),
            ]
            rows = [
                (
                    label,
                    [latencies(session, page, options.gets), latencies(session, api, options.gets)],
                    "< 100 ms (page)",
                )
                for label, page, api in pairs
            ]
    print_table("web UI pages, ms per GET (median)", ["ui", "api list"], rows)


if __name__ == "__main__":
    main()
