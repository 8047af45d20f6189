"""Read paths at scale: a large registry next to a small one, the same requests on both.

Usage: .venv/bin/python bench/scale.py [--versions 1000000] [--packages 100000]
           [--seconds 5] [--connections 32 128] [--workdir /tmp/registry-scale] [--reuse]

Needs PostgreSQL: DATABASE_URL names the server (its database name is the prefix of the two
databases made here, ``<name>_scale_large`` and ``<name>_scale_small``; both are dropped and
recreated unless ``--reuse`` finds them loaded). bench/scale_data.py bulk-loads each one (the
time each step took is printed): the large one with ``--versions`` versions over ``--packages``
packages, including the hot packages of the issue (an npm package with 5,000 versions, a PyPI
project with 2,000 files, an OCI image with 10,000 tags, a Maven artifact with 1,000 versions
and SNAPSHOT builds); the small one with 1,000 versions and the hot packages scaled down alike.

Then it starts our server on each (gunicorn, production settings) and measures with wrk, at
each of ``--connections``, requests/s, p50 and p99 for every read the issue lists (each read on
the large one, then at once on the small one, so both sides of a ratio see the same machine),
and prints
each figure of the large registry next to the small one's, with the ratio (goal: latency within
1.3x; p99 under 20 ms for cached metadata at 32 connections). Never part of the test suite.
"""

import argparse
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from harness import RegistryServer, WrkResult, wrk_latency

SMALL_VERSIONS = 1000
HOT = {"npm_versions": 5000, "pypi_files": 2000, "oci_tags": 10000, "maven_versions": 1000}
REPOSITORIES = ("npm", "pypi", "maven", "oci")
ACCEPT_JSON = {"Accept": "application/json"}
ACCEPT_ABBREVIATED = {"Accept": "application/vnd.npm.install-v1+json"}
ACCEPT_HTML = {"Accept": "text/html"}
ACCEPT_PEP691 = {"Accept": "application/vnd.pypi.simple.v1+json"}
ACCEPT_MANIFEST = {"Accept": "application/vnd.oci.image.manifest.v1+json"}


@dataclass(frozen=True)
class Shape:
    """How much one registry holds."""

    versions: int
    packages: int
    hot: dict[str, int] = field(default_factory=lambda: dict(HOT))

    def scaled(self, versions: int) -> "Shape":
        """This shape shrunk to ``versions`` versions, the hot packages in proportion."""
        factor = versions / self.versions
        return Shape(
            versions=versions,
            packages=max(8, round(self.packages * factor)),
            hot={key: max(2, round(value * factor)) for key, value in self.hot.items()},
        )


@dataclass(frozen=True)
class Read:
    """One read of the issue's list: a label, the paths (wrk picks among them), headers."""

    label: str
    paths: list[str]
    headers: dict[str, str]


def reads(shape: Shape, ids: dict[str, str], token: str) -> list[Read]:
    """Return the requests to measure on a registry of ``shape``.

    Tag and catalog pages start at ``last=`` values spread over the whole listing, so a page
    from the middle costs what a page from the start does only when the query is O(page).
    """
    tags = shape.hot["oci_tags"]
    lasts = [f"build-{number:06d}" for number in range(0, tags, max(1, tags // 10))]
    fillers = shape.packages - 4
    catalog = [
        f"oci/filler-{number:07d}" for number in range(3, fillers, max(4, fillers // 10 // 4 * 4))
    ]
    api = {"Authorization": f"Bearer {token}"}
    return [
        Read("npm packument (full)", ["/repository/npm/big-npm"], ACCEPT_JSON),
        Read("npm packument (abbreviated)", ["/repository/npm/big-npm"], ACCEPT_ABBREVIATED),
        Read("PyPI simple page (HTML)", ["/repository/pypi/simple/big-pypi/"], ACCEPT_HTML),
        Read("PyPI simple page (JSON)", ["/repository/pypi/simple/big-pypi/"], ACCEPT_PEP691),
        Read(
            "OCI tag list page (n=100, last=)",
            [f"/v2/oci/big/tags/list?n=100&last={last}" for last in lasts],
            ACCEPT_JSON,
        ),
        Read(
            "OCI _catalog page (n=100, last=)",
            ["/v2/_catalog?n=100"] + [f"/v2/_catalog?n=100&last={last}" for last in catalog],
            ACCEPT_JSON,
        ),
        Read(
            "OCI manifest by tag",
            [f"/v2/oci/big/manifests/{last}" for last in lasts],
            ACCEPT_MANIFEST,
        ),
        Read(
            "maven-metadata.xml",
            ["/repository/maven/com/example/big/maven-metadata.xml"],
            {},
        ),
        Read("REST API version list", [f"/api/v1/versions/?package={ids['npm']}"], api),
        # Last: pages slower than wrk's timeout leave a backlog that would slow the next read.
        # Search: a name of one package, a rare one of the fillers, one every filler matches.
        Read(
            "UI search",
            ["/ui/search?q=big", "/ui/search?q=filler-0000042", "/ui/search?q=filler"],
            ACCEPT_HTML,
        ),
        Read("UI package page", ["/ui/repositories/npm/packages/big-npm/"], ACCEPT_HTML),
    ]


def database_url(base: str, suffix: str) -> str:
    """Return the URL of the database ``<name>_scale_<suffix>`` on ``base``'s server."""
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"{parts.path}_scale_{suffix}"))


def _admin_connection(url: str) -> psycopg.Connection:
    parts = urlsplit(url)
    return psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True)


def _database_exists(url: str) -> bool:
    name = urlsplit(url).path.lstrip("/")
    with _admin_connection(url) as connection:
        row = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return row is not None


def recreate_database(url: str) -> None:
    """Drop the database of ``url`` if it exists and create it empty."""
    name = urlsplit(url).path.lstrip("/")
    with _admin_connection(url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def load(server: RegistryServer, shape: Shape) -> dict[str, str]:
    """Create the repositories and a token, bulk-load ``shape``; return the loader's figures."""
    server.var_dir.mkdir(parents=True, exist_ok=True)
    server.manage("migrate", "--noinput", "-v", "0")
    token = server.create_token("npm", format="npm", role="read", public=True)
    for name in REPOSITORIES[1:]:
        server.manage("createrepo", name, "--format", name, "--public")
    options = [f"--versions={shape.versions}", f"--packages={shape.packages}"]
    options += [f"--{key.replace('_', '-')}={value}" for key, value in shape.hot.items()]
    output = server.python("bench/scale_data.py", *options)
    figures = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    figures["token"] = token
    (server.var_dir / "loaded.txt").write_text(
        "".join(f"{key}={value}\n" for key, value in figures.items())
    )
    return figures


def loaded(server: RegistryServer) -> dict[str, str] | None:
    """Return the figures of an earlier load of this server's database, if it finished."""
    record = server.var_dir / "loaded.txt"
    if not record.exists() or not _database_exists(server.env["DATABASE_URL"]):
        return None
    return dict(line.split("=", 1) for line in record.read_text().splitlines())


def measure(
    servers: dict[str, tuple[RegistryServer, Shape, dict[str, str]]],
    *,
    connections: list[int],
    seconds: int,
) -> dict[str, dict[tuple[str, int], WrkResult]]:
    """Measure every read at each concurrency on each server, one server right after the other.

    Back to back, so a change in the machine's load between reads hits both sides of a ratio.
    Each read is warmed up for a second first.
    """
    plans = {
        name: (server, reads(shape, {"npm": figures["package_npm"]}, figures["token"]))
        for name, (server, shape, figures) in servers.items()
    }
    results: dict[str, dict[tuple[str, int], WrkResult]] = {name: {} for name in servers}
    labels = [read.label for read in next(iter(plans.values()))[1]]
    for index, label in enumerate(labels):
        for count in connections:
            for name, (server, planned) in plans.items():
                read = planned[index]
                urls = [server.url + path for path in read.paths]
                if count == connections[0]:
                    wrk_latency(urls, headers=read.headers, connections=count, seconds=1)
                results[name][label, count] = wrk_latency(
                    urls, headers=read.headers, connections=count, seconds=seconds
                )
    return results


def print_results(
    large: dict[tuple[str, int], WrkResult], small: dict[tuple[str, int], WrkResult]
) -> None:
    """Print large next to small per read and concurrency, with the latency ratios."""
    header = (
        f"{'read':<34}{'conn':>5}{'req/s L':>10}{'req/s S':>10}{'p50 L':>9}{'p50 S':>9}"
        f"{'p50 L/S':>9}{'p99 L':>9}{'p99 S':>9}{'p99 L/S':>9}"
    )
    print(f"\nlarge (L) vs small (S) registry; latency in ms; goal: L/S <= 1.3\n{header}")
    for (label, count), big in large.items():
        little = small[label, count]
        print(
            f"{label:<34}{count:>5}{big.rate:>10.0f}{little.rate:>10.0f}"
            f"{big.p50_ms:>9.2f}{little.p50_ms:>9.2f}{_ratio(big.p50_ms, little.p50_ms):>9}"
            f"{big.p99_ms:>9.2f}{little.p99_ms:>9.2f}{_ratio(big.p99_ms, little.p99_ms):>9}"
        )


def _ratio(large: float, small: float) -> str:
    # wrk reports 0 when no request finished within its timeout (10 s).
    return f"{large / small:.2f}" if small and large else "timeout"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=1_000_000)
    parser.add_argument("--packages", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/registry-scale"))
    parser.add_argument("--reuse", action="store_true", help="keep loaded databases")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("bench/scale.py needs DATABASE_URL=postgres://... (PostgreSQL)")
    large_shape = Shape(versions=args.versions, packages=args.packages)
    shapes = {"large": large_shape, "small": large_shape.scaled(SMALL_VERSIONS)}
    servers = {}
    for name, shape in shapes.items():
        server = RegistryServer(
            args.workdir / name,
            # Both run at once: 2 x 16 threads stay under PostgreSQL's 100 connections.
            workers=2,
            env={"DATABASE_URL": database_url(base, name)},
        )
        figures = loaded(server) if args.reuse else None
        if figures is None:
            recreate_database(server.env["DATABASE_URL"])
            shutil.rmtree(server.var_dir, ignore_errors=True)
            figures = load(server, shape)
        print(f"\n{name}: {shape}")
        for key, value in figures.items():
            if key != "token":
                print(f"  {key} = {value}")
        servers[name] = (server, shape, figures)
    with servers["large"][0], servers["small"][0]:
        results = measure(servers, connections=args.connections, seconds=args.seconds)
    print_results(results["large"], results["small"])


if __name__ == "__main__":
    main()
