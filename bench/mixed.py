"""Mixed pull traffic through the production shape: gunicorn behind deploy/nginx.conf.

Usage: .venv/bin/python bench/mixed.py [--versions 1000000] [--packages 100000]
           [--connections 64] [--seconds 20] [--mix 200] [--workdir /tmp/registry-scale]

Uses the large registry of bench/scale.py (loads it first when ``--workdir`` holds none; needs
DATABASE_URL=postgres://... as bench/scale.py does), starts our server on it with blobs sent by
nginx (``BLOB_SERVE_MODE=x-accel``), its mirror (``MIRROR_DIR``, synced first: Maven files and
metadata, npm tarballs, PyPI distributions) and nginx's log of the downloads it sends from there
(``MIRROR_DOWNLOADS_DIR``), as docker-compose.yml does, and nginx with the shipped configuration
(tests/nginx.py fills it in) in front, then replays with wrk, over ``--connections``
connections, a mix of what pulling clients ask for (bench/scale_data.py ``--mix``: npm
packuments and tarballs, PyPI simple pages and files, OCI manifests and blobs, Maven metadata
and jars), authenticated with an API token (OCI: the bearer token the token flow issues for it).

Prints requests/s (goal: more than 1,500/s on 2 cores, over five times Nexus's published
single-node peak of 268/s), p50/p99, each format's share of the requests nginx logged, and the
CPU time per request of gunicorn (master and workers) and of nginx. Never part of the tests.
"""

import argparse
import base64
import json
import os
import sys
import urllib.request
from collections import Counter
from pathlib import Path

from harness import USER, RegistryServer, WrkResult, wrk_script
from scale import Shape, database_url, load, loaded, recreate_database

from tests.nginx import ProductionNginx

NEXUS_PEAK = 268
# One request of the mix per call, each with its own Accept and Authorization.
MIX_SCRIPT = """
local mix = {%s}
math.randomseed(7)
request = function()
  local pick = mix[math.random(#mix)]
  return wrk.format("GET", pick[1], {["Accept"] = pick[2], ["Authorization"] = pick[3]})
end
"""
PREFIXES = {"/repository/npm/": "npm", "/repository/pypi/": "pypi", "/repository/maven/": "maven"}


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds of ``pid`` and its children (one level down)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state, ppid, ..., utime (14th field) and stime (15th).
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _bearer(front: str, token: str) -> str:
    request = urllib.request.Request(
        f"{front}/v2/token?scope=repository:oci/big:pull",
        headers={"Authorization": _basic(token)},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return "Bearer " + json.load(response)["token"]


def _basic(token: str) -> str:
    return "Basic " + base64.b64encode(f"{USER}:{token}".encode()).decode()


def _script(mix: list[tuple[str, str, str]], *, basic: str, bearer: str) -> str:
    entries = ", ".join(
        f'{{"{path}", "{accept}", "{bearer if fmt == "oci" else basic}"}}'
        for fmt, path, accept in mix
    )
    return MIX_SCRIPT % entries


def _format_of(line: str) -> str:
    path = line.split('"', 2)[1].split(" ")[1] if '"' in line else ""
    if path.startswith("/v2/"):
        return "oci"
    return next((fmt for prefix, fmt in PREFIXES.items() if path.startswith(prefix)), "other")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=1_000_000)
    parser.add_argument("--packages", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--mix", type=int, default=200, help="distinct requests per kind")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/registry-scale"))
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("bench/mixed.py needs DATABASE_URL=postgres://... (PostgreSQL)")
    var_dir = args.workdir / "large"
    mirror, downloads = args.workdir / "mirror", args.workdir / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    env = {  # as docker-compose.yml runs it
        "DATABASE_URL": database_url(base, "large"),
        "BLOB_SERVE_MODE": "x-accel",
        "MIRROR_DIR": str(mirror),
        "MIRROR_DOWNLOADS_DIR": str(downloads),
    }
    server = RegistryServer(var_dir, env=env)
    figures = loaded(server)
    if figures is None:
        recreate_database(env["DATABASE_URL"])
        figures = load(server, Shape(versions=args.versions, packages=args.packages))
    for name in ("pypi", "maven", "oci"):
        server.manage("grant", "user", USER, name, "read")
    server.manage("mirror_sync")
    mix = [
        tuple(line.split("\t"))
        for line in server.python("bench/scale_data.py", f"--mix={args.mix}").splitlines()
    ]
    args.workdir.chmod(0o755)  # nginx workers run as an unprivileged user
    with (
        server,
        ProductionNginx(
            args.workdir / "front",
            upstream=server.host,
            mirror_dir=mirror,
            downloads_dir=downloads,
            blob_dir=var_dir / "blobs",
            workers=2,
        ) as front,
    ):
        basic = _basic(figures["token"])
        script = _script(mix, basic=basic, bearer=_bearer(front.url, figures["token"]))
        wrk_script(front.url, script, connections=args.connections, seconds=3)
        logged = len(front.access_lines())
        before = cpu_seconds(server.process.pid), cpu_seconds(front.process.pid)
        result = wrk_script(front.url, script, connections=args.connections, seconds=args.seconds)
        after = cpu_seconds(server.process.pid), cpu_seconds(front.process.pid)
        lines = front.access_lines()[logged:]
    report(result, lines, gunicorn=after[0] - before[0], nginx=after[1] - before[1], args=args)


def report(
    result: WrkResult, lines: list[str], *, gunicorn: float, nginx: float, args: argparse.Namespace
) -> None:
    """Print the throughput, latency, shares per format and CPU per request."""
    shares = Counter(_format_of(line) for line in lines)
    count = max(1, len(lines))
    print(f"\nmixed pull traffic, {args.connections} connections, {args.seconds} s, through nginx")
    print(f"  requests/s        {result.rate:10.0f}   goal > 1500 (Nexus peak {NEXUS_PEAK}/s)")
    print(f"  ratio to Nexus    {result.rate / NEXUS_PEAK:10.2f}   goal > 5")
    print(f"  p50 / p99 ms      {result.p50_ms:10.2f} / {result.p99_ms:.2f}")
    per_request = f"gunicorn {gunicorn * 1000 / count:.2f}, nginx {nginx * 1000 / count:.2f}"
    print(f"  CPU ms/request    {per_request}")
    for fmt, number in shares.most_common():
        print(f"  share {fmt:<10}  {number / count:10.1%}")


if __name__ == "__main__":
    main()
