"""Verdaccio for the proxy benchmark: the npm upstream (real packages published to it) and the peer
proxy (an uplink to that upstream), each in a folder of its own, from one installation."""

import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from harness import free_port, stop, wait_for
from npm import Verdaccio, npm_env

USER = "bench"
PASSWORD = "bench-password"


def verdaccio_binary(install_dir: Path) -> Path:
    """Return Verdaccio's executable in ``install_dir``, installing it there with npm if missing."""
    with tempfile.TemporaryDirectory(prefix="bench-verdaccio-") as scratch:
        return Verdaccio(Path(scratch), install_dir).install()


class VerdaccioServer:
    """One Verdaccio process on a free port, storage under ``work``.

    With ``uplink`` every package is proxied to that registry (metadata kept for ``maxage``, as
    our proxies keep theirs for ``metadata_ttl``); without, packages are published to it. With
    ``log_requests`` each request is logged, for ``requests_served``.
    """

    def __init__(
        self,
        work: Path,
        binary: Path,
        *,
        uplink: str = "",
        maxage: str = "30m",
        log_requests: bool = False,
    ):
        self.work = work
        self.log = work / "verdaccio.log"
        self.level = "http" if log_requests else "warn"
        self.binary = binary
        self.uplink = uplink
        self.maxage = maxage
        self.port = free_port()
        self.registry = f"http://127.0.0.1:{self.port}/"
        self.process: subprocess.Popen | None = None
        self.generation = 0

    def config(self, storage: Path) -> str:
        if self.uplink:
            uplinks = f"uplinks:\n  up:\n    url: {self.uplink}\n    maxage: {self.maxage}\n"
            rules = "    access: $all\n    proxy: up\n"
        else:
            uplinks = "uplinks: {}\n"
            rules = "    access: $all\n    publish: $authenticated\n"
        return (
            f"storage: {storage}\nplugins: {self.work / 'plugins'}\n"
            f"auth:\n  htpasswd:\n    file: {self.work / 'htpasswd'}\n    max_users: 1000\n"
            f"{uplinks}packages:\n  '@*/*':\n{rules}  '**':\n{rules}"
            "middlewares:\n  audit:\n    enabled: false\n"
            f"log: {{type: stdout, format: pretty, level: {self.level}}}\n"
            f"listen: 127.0.0.1:{self.port}\n"
        )

    def start(self) -> None:
        """Start with empty storage (a new folder each time: a restarted proxy is cold)."""
        self.generation += 1
        self.work.mkdir(parents=True, exist_ok=True)
        config = self.work / "config.yaml"
        config.write_text(self.config(self.work / f"storage-{self.generation}"))
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [str(self.binary), "--config", str(config)],
                cwd=self.work,
                env=npm_env(self.work),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        wait_for(f"{self.registry}-/ping", self.process, self.log)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def requests_served(self) -> int:
        """Requests logged so far, ``/-/ping`` aside (with ``log_requests``)."""
        lines = self.log.read_text(errors="replace").splitlines()
        return sum("requested '" in line and "/-/ping" not in line for line in lines)

    def token(self) -> str:
        """Sign up ``USER`` as ``npm adduser`` does; return its token."""
        response = requests.put(
            f"{self.registry}-/user/org.couchdb.user:{USER}",
            json={"name": USER, "password": PASSWORD},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["token"]


def npm_publish(registry: str, token: str, tarballs: list[Path], work: Path) -> None:
    """``npm publish`` each tarball to ``registry``; then tag the highest version of each name
    ``latest`` where a package's ``publishConfig`` chose another tag (as encodeurl's does)."""
    work.mkdir(parents=True, exist_ok=True)
    npmrc = work / ".npmrc-publish"
    npmrc.write_text(
        f"registry={registry}\n{registry.split(':', 1)[1]}:_authToken={token}\n"
        f"update-notifier=false\naudit=false\nfund=false\ncache={work / 'cache'}\n"
    )

    def npm(*args: str) -> None:
        result = subprocess.run(
            ["npm", *args, "--userconfig", str(npmrc)],
            cwd=work,
            env=npm_env(work),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"npm {' '.join(args)} failed:\n{result.stderr[-2000:]}")

    by_name: dict[str, list[Path]] = {}
    for tarball in sorted(tarballs, key=lambda tarball: version_key(tarball_version(tarball))):
        by_name.setdefault(tarball_name(tarball), []).append(tarball)

    def publish(name: str) -> None:
        # Lowest version first: npm refuses to tag a version below the latest one "latest".
        for tarball in by_name[name]:
            npm("publish", str(tarball))
        packument = requests.get(f"{registry}{name}", timeout=30).json()
        if "latest" not in packument.get("dist-tags", {}):
            npm("dist-tag", "add", f"{name}@{tarball_version(by_name[name][-1])}", "latest")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(publish, by_name))


def tarball_name(tarball: Path) -> str:
    """The package name of an ``npm pack`` file name (``ipaddr.js-1.9.1.tgz`` -> ``ipaddr.js``)."""
    return tarball.name.rsplit("-", 1)[0]


def tarball_version(tarball: Path) -> str:
    return tarball.name.rsplit("-", 1)[1].removesuffix(".tgz")


def version_key(version: str) -> tuple[int, ...]:
    """Sort key of a plain release version (``2.1.3``)."""
    return tuple(int(part) for part in version.split("."))
