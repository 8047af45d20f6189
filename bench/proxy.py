"""Proxy and group repositories: ``npm install`` and ``pip install`` through our group, cold and
warm, side by side with Verdaccio and devpi proxying the same upstream, in one run.

Upstreams are local: a Verdaccio with 30 real npm packages published to it (the tree of send,
type-is, accepts, cookie, vary and proxy-addr: 30 tarballs, no install scripts) and a pypiserver
serving 20 real wheels (requests, flask, pytest, python-dateutil, attrs and their dependencies).
Both are fetched once from the public registries into ``--cache-dir``; the run itself talks to
loopback only. Our server (gunicorn, base settings, SQLite in a temp dir or the PostgreSQL
database DATABASE_URL names) holds the same packages in hosted repositories
``npm-hosted``/``pypi-hosted``, and per round a fresh proxy of
each upstream in a group behind a hosted member with one private package (``npm-private``,
``pypi-private``), so every read goes through the group and its dependency-confusion guard.

Each round, in alternating order, times a fresh project (npm: new cache; pip: new virtualenv,
``--no-cache-dir``) installing from

* our group: cold (a proxy created for this round) then warm (everything cached);
* the peer: Verdaccio with an uplink to the upstream (restarted with empty storage: cold, then
  warm), devpi-server with a new mirror index of the upstream (cold, then warm); both keep
  metadata for 30 minutes, as our ``metadata_ttl`` does by default;
* our hosted repository and the upstream itself (direct);
* the floor: nginx sending our hosted repository's documents and files from disk
  (``bench/floor.py``), the least time any server can give the client.

Each install also counts the requests that reached the upstream meanwhile (0 when warm), and at
the end each source serves the URLs its last install read for a few seconds at a fixed
concurrency (req/s). Our cold proxy finds the tarballs' bytes in the blob store already (the
hosted repository holds the same files) but still fetches and verifies each one.

Goals (issue 12): warm <= 1.0x of our hosted repository; cold <= 1.2x of the upstream itself;
the peer's warm >= 1.5x of our warm. When even the floor is not 1.5x faster than the peer's
warm, the run says so: no server can meet that goal on this client. When ``createrepo --kind
proxy`` is refused (proxies not implemented for a format) the run still measures the rest and
prints "our proxy: not available".

Usage: ``.venv/bin/python bench/proxy.py [--rounds 3] [--only npm|pypi] [--cache-dir DIR]
[--verdaccio-dir DIR]``. Needs devpi-server, devpi-client, pypiserver and twine in this
virtualenv and npm on the PATH. Not part of the test suite.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import requests
from floor import FloorNginx, npm_floor, pypi_floor
from harness import BIN, PASSWORD, USER, RegistryServer, load_client, requests_per_second
from npm import npm_env, publish_body
from peers_npm import VerdaccioServer, npm_publish, verdaccio_binary
from peers_pypi import Devpi, PypiServer
from pypi import PIP_ACCEPT, clean_env

from tests.formats.pypi.dists import make_wheel

NPM_ROOTS = {
    "send": "0.19.0",
    "type-is": "1.6.18",
    "accepts": "1.3.8",
    "cookie": "0.7.1",
    "vary": "1.1.2",
    "proxy-addr": "2.0.7",
}
NPM_PACKAGES = [
    *(f"{name}@{version}" for name, version in NPM_ROOTS.items()),
    *("debug@2.6.9", "ms@2.0.0", "ms@2.1.3", "depd@2.0.0", "destroy@1.2.0", "ee-first@1.1.1"),
    *("encodeurl@1.0.4", "escape-html@1.0.3", "etag@1.8.1", "forwarded@0.2.0", "fresh@0.5.2"),
    *("http-errors@2.0.0", "inherits@2.0.4", "ipaddr.js@1.9.1", "media-typer@0.3.0"),
    *("mime@1.6.0", "mime-db@1.52.0", "mime-types@2.1.35", "negotiator@0.6.3"),
    *("on-finished@2.4.1", "range-parser@1.2.1", "setprototypeof@1.2.0", "statuses@2.0.1"),
    "toidentifier@1.0.1",
]
PYPI_PINS = [
    *("requests==2.34.2", "certifi==2026.10.19.post1", "charset-normalizer==3.5.3"),
    *("idna==3.20", "urllib3==2.8.0", "flask==3.1.3", "werkzeug==3.1.9", "jinja2==3.1.6"),
    *("markupsafe==3.0.4", "itsdangerous==2.2.0", "click==8.5.1", "blinker==1.9.0"),
    *("pytest==9.2.0", "iniconfig==2.3.1", "packaging==26.4", "pluggy==1.7.0"),
    *("pygments==2.21.0", "python-dateutil==4.0.0", "tzdata==2026.6", "attrs==26.1.0"),
]
NPM_ACCEPT = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
PRIVATE = "bench-private-lib"
OURS, HOSTED, UPSTREAM, FLOOR = "ours group", "ours hosted", "upstream", "floor (nginx)"
PEERS = {"npm": "verdaccio proxy", "pypi": "devpi mirror"}


class InstallFailed(RuntimeError):
    """A client install failed; the message ends with its output."""


def run(*args: object, env: dict[str, str], cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise InstallFailed(
            f"{args[0]} {args[1]} failed:\n{(result.stdout + result.stderr)[-2500:]}"
        )
    return result.stdout


# --- the packages, fetched once -----------------------------------------------------------


def npm_tarballs(cache: Path) -> list[Path]:
    """The 30 tarballs, ``npm pack``-ed from the npm registry into ``cache`` when missing."""
    cache.mkdir(parents=True, exist_ok=True)
    files = [
        cache / f"{spec.rsplit('@', 1)[0]}-{spec.rsplit('@', 1)[1]}.tgz" for spec in NPM_PACKAGES
    ]
    missing = [spec for spec, path in zip(NPM_PACKAGES, files, strict=True) if not path.exists()]
    if missing:
        print(f"npm pack {len(missing)} packages into {cache}", flush=True)
        run("npm", "pack", "--silent", *missing, env=npm_env(cache), cwd=cache)
    return files


def pypi_wheels(cache: Path) -> list[Path]:
    """The 20 wheels, ``pip download``-ed from PyPI into ``cache`` when missing."""
    cache.mkdir(parents=True, exist_ok=True)

    def find() -> list[Path]:
        wanted = {pin.replace("-", "_").replace("==", "-") + "-" for pin in PYPI_PINS}
        return [
            path
            for path in sorted(cache.glob("*.whl"))
            if any(path.name.lower().startswith(prefix) for prefix in wanted)
        ]

    if len(find()) < len(PYPI_PINS):
        print(f"pip download {len(PYPI_PINS)} wheels into {cache}", flush=True)
        run(
            sys.executable,
            "-m",
            "pip",
            "download",
            "--isolated",
            "-q",
            "--no-deps",
            "--only-binary",
            ":all:",
            "-d",
            cache,
            *PYPI_PINS,
            env=clean_env(),
        )
    return find()


# --- our server -----------------------------------------------------------------------------


class Ours:
    """Our server with the hosted repositories filled; ``group`` adds a proxy and its group."""

    def __init__(self, server: RegistryServer) -> None:
        self.server = server
        self.unavailable: dict[str, str] = {}

    def setup(self, tarballs: list[Path], wheels: list[Path], work: Path) -> None:
        manage = self.server.manage
        manage("createuser", USER, "--password", PASSWORD)
        token = manage("createtoken", USER).splitlines()[-1]
        for fmt in ("npm", "pypi"):
            for repository in (f"{fmt}-hosted", f"{fmt}-private"):
                manage("createrepo", repository, "--format", fmt, "--public")
                manage("grant", "user", USER, repository, "write")
        base = f"{self.server.url}/repository"
        started = time.monotonic()
        npm_publish(f"{base}/npm-hosted/", token, tarballs, work / "publish-ours")
        response = requests.put(
            f"{base}/npm-private/{PRIVATE}",
            data=publish_body(PRIVATE, "1.0.0", {}),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=60,
        )
        response.raise_for_status()
        private = work / make_wheel(PRIVATE, "1.0")[0]
        private.write_bytes(make_wheel(PRIVATE, "1.0")[1])
        for repository, files in (("pypi-hosted", wheels), ("pypi-private", [private])):
            twine = [BIN / "twine", "upload", "--non-interactive", "--disable-progress-bar"]
            auth = ["-u", "__token__", "-p", token]
            run(*twine, "--repository-url", f"{base}/{repository}/", *auth, *files, env=clean_env())
        print(f"ours: hosted repositories filled in {time.monotonic() - started:.1f}s", flush=True)

    def group(self, fmt: str, upstream: str, round_: int) -> str | None:
        """A new proxy of ``upstream`` and a group (private hosted, proxy); its client URL.

        None, with the reason kept in ``unavailable``, when this server cannot make them.
        """
        if fmt in self.unavailable:
            return None
        proxy, group = f"{fmt}-proxy-{round_}", f"{fmt}-group-{round_}"
        try:
            self.server.manage(
                "createrepo",
                proxy,
                "--format",
                fmt,
                "--kind",
                "proxy",
                "--upstream",
                upstream,
                "--public",
            )
            self.server.manage(
                "createrepo",
                group,
                "--format",
                fmt,
                "--kind",
                "group",
                "--member",
                f"{fmt}-private",
                "--member",
                proxy,
                "--public",
            )
        except RuntimeError as error:
            self.fail(fmt, str(error).strip().splitlines()[-1])
            return None
        url = f"{self.server.url}/repository/{group}/"
        return url if fmt == "npm" else f"{url}simple/"

    def fail(self, fmt: str, reason: str) -> None:
        self.unavailable[fmt] = reason
        print(f"{fmt}: our proxy: not available ({reason})", flush=True)


# --- the clients ----------------------------------------------------------------------------


def npm_install(registry: str, work: Path) -> tuple[float, list[str]]:
    """``npm install`` of the roots (30 packages) into a new project with a new cache.

    Returns its seconds and the URLs it read (packuments and tarballs).
    """
    project = Path(tempfile.mkdtemp(prefix="npm-", dir=work))
    npmrc = project / ".npmrc-bench"
    npmrc.write_text(
        f"registry={registry}\naudit=false\nfund=false\nupdate-notifier=false\n"
        f"cache={project / 'cache'}\n"
    )
    app = {"name": "bench-app", "version": "1.0.0", "private": True, "dependencies": NPM_ROOTS}
    (project / "package.json").write_text(json.dumps(app))
    started = time.perf_counter()
    run("npm", "install", "--userconfig", npmrc, env=npm_env(project), cwd=project)
    elapsed = time.perf_counter() - started
    packages = json.loads((project / "package-lock.json").read_text())["packages"]
    tarballs = [entry["resolved"] for path, entry in packages.items() if path]
    if len(tarballs) != len(NPM_PACKAGES) or not all(t.startswith(registry) for t in tarballs):
        raise InstallFailed(f"{registry}: the lockfile resolves {tarballs}")
    names = {path.rsplit("node_modules/", 1)[1] for path in packages if path}
    shutil.rmtree(project)
    return elapsed, [*(registry + name for name in sorted(names)), *tarballs]


def pip_install(index: str, work: Path) -> tuple[float, list[str]]:
    """``pip install`` of the 20 pins into a new virtualenv, no pip cache.

    Returns its seconds and the URLs it read (simple pages and wheels).
    """
    target = Path(tempfile.mkdtemp(prefix="venv-", dir=work))
    run(sys.executable, "-m", "venv", "--without-pip", target, env=clean_env())
    report = target / "report.json"
    pip = [sys.executable, "-m", "pip", "--python", target / "bin/python", "install"]
    options = ["--isolated", "--disable-pip-version-check", "--no-cache-dir", "-q"]
    started = time.perf_counter()
    run(*pip, *options, "--report", report, "--index-url", index, *PYPI_PINS, env=clean_env())
    elapsed = time.perf_counter() - started
    installed = json.loads(report.read_text())["install"]
    shutil.rmtree(target)
    pages = [
        f"{index}{re.sub(r'[-_.]+', '-', item['metadata']['name']).lower()}/" for item in installed
    ]
    return elapsed, [*pages, *(item["download_info"]["url"] for item in installed)]


INSTALL = {"npm": npm_install, "pypi": pip_install}


# --- the run --------------------------------------------------------------------------------


@dataclass
class Subject:
    """One format's sources besides our group: the peer, our hosted repository, the upstream."""

    fmt: str
    direct: dict[str, str]  # HOSTED and UPSTREAM: their client URLs
    peer_cold: Callable[[int], str]  # the peer emptied for round N: its client URL
    upstream_requests: Callable[[], int]  # requests the upstream has served so far
    accept: str  # the Accept header the client sends for metadata
    urls: dict[str, list[str]] = field(
        default_factory=dict
    )  # per source: what its last install read


def measure_round(subject: Subject, round_: int, ours: Ours, times: dict, work: Path) -> None:
    """One round: our group and the peer cold then warm, our hosted and the upstream direct.

    Each install also records how many requests reached the upstream meanwhile.
    """
    fmt = subject.fmt

    def install(label: str, phase: str, url: str) -> None:
        before = subject.upstream_requests()
        seconds, subject.urls[label] = INSTALL[fmt](url, work)
        times[fmt][label][phase].append(seconds)
        time.sleep(0.3)  # the upstream's log catches up
        times[fmt][label][f"{phase} upstream"].append(subject.upstream_requests() - before)

    def ours_cold_warm() -> None:
        url = ours.group(fmt, subject.direct[UPSTREAM], round_)
        if url is None:
            return
        try:
            install(OURS, "cold", url)
            install(OURS, "warm", url)
        except InstallFailed as error:
            ours.fail(fmt, str(error))

    def peer_cold_warm() -> None:
        url = subject.peer_cold(round_)
        install(PEERS[fmt], "cold", url)
        install(PEERS[fmt], "warm", url)

    steps = [ours_cold_warm, peer_cold_warm]
    for step in steps if round_ % 2 else reversed(steps):
        step()
    for label, url in subject.direct.items():
        install(label, "direct", url)


def measure_rates(subject: Subject, times: dict, seconds: int, connections: int) -> None:
    """Requests/s of the URLs each source's last (warm) install read, over ``connections``."""
    for label, urls in subject.urls.items():
        rate = requests_per_second(
            urls, headers={"Accept": subject.accept}, connections=connections, seconds=seconds
        )
        times[subject.fmt][label]["req/s"].append(rate)


def median(samples: list[float]) -> float | None:
    return statistics.median(samples) if samples else None


# (key in the samples, column header, decimals)
COLUMNS = [
    *((phase, f"s {phase}", 2) for phase in ("cold", "warm", "direct")),
    *((f"{phase} upstream", f"up {phase}", 0) for phase in ("cold", "warm", "direct")),
    ("req/s", "req/s", 0),
]


def report(fmt: str, title: str, times: dict, ours: Ours) -> None:
    """Print the medians per source, then the goals' ratios and a few more for information."""
    table, peer = times[fmt], PEERS[fmt]
    print(f"\n{title}")
    print(f"{'':<18}{''.join(f'{header:>10}' for _, header, _ in COLUMNS)}  runs")
    for label in (OURS, peer, HOSTED, UPSTREAM, FLOOR):
        cells = ""
        for key, _, decimals in COLUMNS:
            value = median(table[label][key])
            cells += f"{'-':>10}" if value is None else f"{value:>10.{decimals}f}"
        runs = len(table[label]["warm"] or table[label]["direct"])
        print(f"{label:<18}{cells}  {runs}")
    if fmt in ours.unavailable:
        print(f"our proxy: not available ({ours.unavailable[fmt].splitlines()[0][:200]})")
    ratios = [
        (f"warm: {OURS} / {HOSTED}", (OURS, "warm"), (HOSTED, "direct"), "<= 1.0"),
        (f"cold: {OURS} / {UPSTREAM}", (OURS, "cold"), (UPSTREAM, "direct"), "<= 1.2"),
        (f"warm: {peer} / {OURS}", (peer, "warm"), (OURS, "warm"), ">= 1.5"),
        (f"cold: {peer} / {OURS}", (peer, "cold"), (OURS, "cold"), ""),
        (f"warm: {OURS} / {FLOOR}", (OURS, "warm"), (FLOOR, "direct"), ""),
        (f"warm: {peer} / {FLOOR}", (peer, "warm"), (FLOOR, "direct"), ""),
        (f"req/s: {OURS} / {HOSTED}", (OURS, "req/s"), (HOSTED, "req/s"), ""),
        (f"req/s: {OURS} / {peer}", (OURS, "req/s"), (peer, "req/s"), ""),
    ]
    print(f"{'ratio':<38}{'value':>8}  goal")
    for label, top, bottom, goal in ratios:
        ratio = _ratio(table, top, bottom)
        if ratio is None:
            print(f"{label:<38}{'-':>8}  {goal or '(info)'}")
            continue
        met = "" if not goal else ("met" if goal_met(ratio, goal) else "NOT met")
        print(f"{label:<38}{ratio:>8.2f}  {goal + 'x ' + met if goal else '(info)'}")
    ceiling = _ratio(table, (peer, "warm"), (FLOOR, "direct"))
    if ceiling is not None and ceiling < 1.5:
        print(
            f"no server can be 1.5x faster than {peer} warm here: from static files (nginx, "
            f"the floor) the client installs only {ceiling:.2f}x as fast as from {peer}"
        )


def _ratio(table: dict, top: tuple[str, str], bottom: tuple[str, str]) -> float | None:
    a, b = median(table[top[0]][top[1]]), median(table[bottom[0]][bottom[1]])
    return None if a is None or b is None else a / b


def goal_met(ratio: float, goal: str) -> bool:
    sense, bound = goal.split()
    return ratio <= float(bound) if sense == "<=" else ratio >= float(bound)


def version_of(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip()


def start_upstreams(
    work: Path, stack: ExitStack, binary: Path, tarballs: list[Path], wheels: list[Path]
) -> tuple[VerdaccioServer, PypiServer]:
    """The upstreams that our proxies and the peers proxy, filled with the packages."""
    npm_upstream = VerdaccioServer(work / "npm-upstream", binary, log_requests=True)
    stack.callback(npm_upstream.stop)
    npm_upstream.start()
    npm_publish(npm_upstream.registry, npm_upstream.token(), tarballs, work / "publish-up")
    packages = work / "pypi-upstream-packages"
    packages.mkdir()
    for wheel in wheels:
        shutil.copy(wheel, packages)
    pypi_upstream = PypiServer(work / "pypi-upstream")
    stack.callback(pypi_upstream.stop)
    pypi_upstream.start(packages)
    return npm_upstream, pypi_upstream


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["npm", "pypi"])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--threads", type=int, default=8)
    cache = Path.home() / ".cache" / "registry-bench"
    parser.add_argument("--cache-dir", type=Path, default=cache / "proxy")
    parser.add_argument("--verdaccio-dir", type=Path, default=cache / "verdaccio-6.8.0")
    args = parser.parse_args()
    formats = [args.only] if args.only else ["npm", "pypi"]

    tarballs = npm_tarballs(args.cache_dir / "npm")
    wheels = pypi_wheels(args.cache_dir / "pypi")
    binary = verdaccio_binary(args.verdaccio_dir)
    times: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as temp, ExitStack() as stack:
        work = Path(temp)
        npm_upstream, pypi_upstream = start_upstreams(work, stack, binary, tarballs, wheels)
        verdaccio = VerdaccioServer(work / "verdaccio-proxy", binary, uplink=npm_upstream.registry)
        stack.callback(verdaccio.stop)
        devpi = Devpi(work / "devpi")
        stack.callback(devpi.stop)
        devpi.start()
        # No fsync: neither Verdaccio nor devpi fsyncs what it caches.
        server = RegistryServer(
            work / "ours-var",
            workers=args.workers,
            threads=args.threads,
            env={"BLOB_FSYNC": "0", "LOG_LEVEL": "ERROR"},
        )
        stack.enter_context(server)
        ours = Ours(server)
        ours.setup(tarballs, wheels, work)
        hosted = f"{server.url}/repository"
        floor = FloorNginx(work / "floor-nginx", serve=work / "floor")
        stack.enter_context(floor)
        names = sorted({spec.rsplit("@", 1)[0] for spec in NPM_PACKAGES})
        projects = sorted({re.sub(r"[-_.]+", "-", pin.split("==")[0]).lower() for pin in PYPI_PINS})
        floors = {
            "npm": npm_floor(
                hosted=f"{hosted}/npm-hosted/",
                names=names,
                accept=NPM_ACCEPT,
                serve=floor.serve,
                base=floor.url,
            ),
            "pypi": pypi_floor(
                hosted=f"{hosted}/pypi-hosted/simple/",
                projects=projects,
                serve=floor.serve,
                base=floor.url,
            ),
        }
        direct = {
            "npm": {
                HOSTED: f"{hosted}/npm-hosted/",
                UPSTREAM: npm_upstream.registry,
                FLOOR: floors["npm"],
            },
            "pypi": {
                HOSTED: f"{hosted}/pypi-hosted/simple/",
                UPSTREAM: pypi_upstream.simple,
                FLOOR: floors["pypi"],
            },
        }

        def verdaccio_cold(round_: int) -> str:
            verdaccio.restart()
            return verdaccio.registry

        subjects = {
            "npm": Subject(
                "npm", direct["npm"], verdaccio_cold, npm_upstream.requests_served, NPM_ACCEPT
            ),
            "pypi": Subject(
                "pypi",
                direct["pypi"],
                lambda round_: devpi.mirror(f"mirror-{round_}", pypi_upstream.simple),
                pypi_upstream.requests_served,
                PIP_ACCEPT,
            ),
        }
        for round_ in range(args.rounds):
            for fmt in formats:
                measure_round(subjects[fmt], round_, ours, times, work)
            print(f"round {round_ + 1}/{args.rounds} done at {time.monotonic() - started:.0f}s")
        for fmt in formats:
            measure_rates(subjects[fmt], times, args.seconds, args.connections)

    database = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    setup = (
        f"ours: gunicorn gthread {args.workers} workers x {args.threads} threads, {database}; "
        f"{os.cpu_count()} CPUs; median of {args.rounds} rounds; {time.monotonic() - started:.0f}s"
        f"\ns: seconds of an install; up: requests that reached the upstream meanwhile; req/s: "
        f"GETs of the URLs of the last install ({load_client()}, {args.connections} connections, "
        f"{args.seconds}s)"
    )
    pip_version = version_of(sys.executable, "-m", "pip", "--version").split()[1]
    titles = {
        "npm": f"npm {version_of('npm', '--version')}: npm install of {len(NPM_PACKAGES)} "
        f"packages (Verdaccio 6.8.0 upstream and proxy); {setup}",
        "pypi": f"pip {pip_version}: pip install of {len(PYPI_PINS)} wheels (pypiserver "
        f"{version_of(str(BIN / 'pypi-server'), '--version')} upstream, devpi-server "
        f"{version_of(str(BIN / 'devpi-server'), '--version')}); {setup}",
    }
    for fmt in formats:
        report(fmt, titles[fmt], times, ours)


if __name__ == "__main__":
    main()
