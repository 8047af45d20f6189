"""Maven reads from the registry next to nginx serving the same repository tree as static files.

Usage: .venv/bin/python bench/maven.py [--artifacts 30] [--duration 10] [--connections 32]
                                       [--runs 3] [--workdir DIR]

Starts our server (gunicorn, base settings, a fresh var dir: migrate, bootstrap, a user and an
API token) and nginx (the static-file limit) on free loopback ports, deploys N artifacts to
``maven-releases`` over HTTP, copies what we serve into nginx's root, then measures:

- requests/s for ``maven-metadata.xml``, a ``.pom`` and a ``.sha1`` at a fixed concurrency
  (wrk when installed, else a threaded Python client), ours with the token as Basic auth;
- wall time of ``mvn compile`` of a consumer depending on all N artifacts, fresh local
  repository per run, median of ``--runs``.

Prints a table with ratios. Never part of the test suite.
"""

import argparse
import base64
import io
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import RegistryServer, free_port, wait_for  # noqa: E402

NGINX = "/usr/sbin/nginx"
GROUP = "com/bench"
CENTRAL = f"file://{Path.home()}/.m2/repository"
NGINX_CONF = """
worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    types {{ application/xml xml pom; application/java-archive jar; text/plain sha1 md5; }}
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {root}/repo;
        location / {{ autoindex on; }}
    }}
}}
"""
SETTINGS = """<settings xmlns="http://maven.apache.org/SETTINGS/1.0.0">
  <localRepository>{local}</localRepository>
  <servers><server><id>bench</id><username>{user}</username><password>{password}</password>
  </server></servers>
  <profiles><profile><id>seeded</id>
    <repositories><repository><id>central</id><url>{central}</url>
      <releases><checksumPolicy>ignore</checksumPolicy></releases>
      <snapshots><enabled>false</enabled></snapshots></repository></repositories>
    <pluginRepositories><pluginRepository><id>central</id><url>{central}</url>
      <releases><checksumPolicy>ignore</checksumPolicy></releases>
      <snapshots><enabled>false</enabled></snapshots></pluginRepository></pluginRepositories>
  </profile></profiles>
  <activeProfiles><activeProfile>seeded</activeProfile></activeProfiles>
</settings>
"""
CONSUMER = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.bench</groupId><artifactId>consumer</artifactId><version>1.0</version>
  <properties><maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties>
  <repositories><repository><id>bench</id><url>{url}</url></repository></repositories>
  <dependencies>{dependencies}</dependencies>
  <build><pluginManagement><plugins>
    <plugin><artifactId>maven-resources-plugin</artifactId><version>3.3.1</version></plugin>
    <plugin><artifactId>maven-compiler-plugin</artifactId><version>3.13.0</version></plugin>
  </plugins></pluginManagement></build>
</project>
"""
TOKEN_SCRIPT = """
from django.contrib.auth import get_user_model
from access.models import Role
from access.services import role_grant, token_create
from formats.models import Repository
user = get_user_model().objects.create_user("bench", password="bench-password")
for name in ("maven-releases", "maven-snapshots", "maven-public"):
    role_grant(repository=Repository.objects.get(name=name), role=Role.WRITE, user=user)
print(token_create(user=user, name="bench").secret)
"""

OPEN_SCRIPT = """
from formats.models import Repository
Repository.objects.filter(name="maven-releases").update(anonymous_read=True)
"""


def _request(url: str, *, method: str = "GET", data: bytes | None = None, auth: str = "") -> bytes:
    request = urllib.request.Request(url, data=data, method=method)
    if auth:
        request.add_header("Authorization", auth)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def _jar(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{name}.txt", name * 100)
    return buffer.getvalue()


def _pom(artifact: str) -> bytes:
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        f"<groupId>com.bench</groupId><artifactId>{artifact}</artifactId><version>1.0</version>"
        "</project>"
    ).encode()


def deploy_and_mirror(*, url: str, auth: str, artifacts: int, static_root: Path) -> None:
    """PUT N artifacts to our server, then copy every file we serve into nginx's root."""
    served: list[str] = []
    for index in range(artifacts):
        artifact = f"lib{index:02d}"
        folder = f"{GROUP}/{artifact}/1.0"
        for name, body in (
            (f"{artifact}-1.0.jar", _jar(artifact)),
            (f"{artifact}-1.0.pom", _pom(artifact)),
        ):
            _request(f"{url}/{folder}/{name}", method="PUT", data=body, auth=auth)
            served += [f"{folder}/{name}", f"{folder}/{name}.sha1", f"{folder}/{name}.md5"]
        metadata = f"{GROUP}/{artifact}/maven-metadata.xml"
        served += [metadata, f"{metadata}.sha1", f"{metadata}.md5"]
    for path in served:
        target = static_root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_request(f"{url}/{path}", auth=auth))


class Nginx:
    """nginx on a free port serving ``root/repo`` with sendfile."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Nginx":
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        conf = self.root / "nginx.conf"
        conf.write_text(NGINX_CONF.format(root=self.root, port=self.port))
        self.process = subprocess.Popen(
            [NGINX, "-c", str(conf), "-p", str(self.root), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(f"{self.url}/")
        except RuntimeError:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)


def requests_per_second(url: str, *, auth: str, duration: int, connections: int) -> float:
    """Return requests/s for GETs of ``url`` at ``connections`` concurrent connections."""
    wrk = shutil.which("wrk")
    if wrk:
        command = [wrk, "-t2", f"-c{connections}", f"-d{duration}s", url]
        if auth:
            command += ["-H", f"Authorization: {auth}"]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        if errors:
            raise RuntimeError(f"{url}: {errors[1]} failed requests\n{output}")
        match = re.search(r"Requests/sec:\s+([\d.]+)", output)
        assert match, output
        return float(match[1])
    return _threaded_rps(url, auth=auth, duration=duration, connections=connections)


def _threaded_rps(url: str, *, auth: str, duration: int, connections: int) -> float:
    count = [0] * connections
    deadline = time.monotonic() + duration

    def worker(slot: int) -> None:
        while time.monotonic() < deadline:
            _request(url, auth=auth)
            count[slot] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(count) / (time.monotonic() - started)


def write_consumer(*, url: str, artifacts: int, workdir: Path, name: str) -> Path:
    """Write a consumer project depending on ``lib00``..``libNN`` 1.0 from ``url``."""
    project = workdir / f"consumer-{name}"
    source = project / "src" / "main" / "java" / "bench"
    source.mkdir(parents=True, exist_ok=True)
    (source / "App.java").write_text("package bench; public class App {}\n")
    dependencies = "".join(
        f"<dependency><groupId>com.bench</groupId><artifactId>lib{i:02d}</artifactId>"
        "<version>1.0</version></dependency>"
        for i in range(artifacts)
    )
    (project / "pom.xml").write_text(CONSUMER.format(url=url, dependencies=dependencies))
    return project


def resolve_once(
    *, project: Path, user: str, password: str, artifacts: int, workdir: Path, run: str
) -> float:
    """Return the wall time of one ``mvn compile`` with a fresh local repository."""
    local = workdir / f"m2-{run}"
    settings = workdir / f"settings-{run}.xml"
    settings.write_text(SETTINGS.format(local=local, user=user, password=password, central=CENTRAL))
    started = time.monotonic()
    result = subprocess.run(
        ["mvn", "-B", "-ntp", "-q", "-s", str(settings), "compile"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(f"mvn compile ({run}) failed:\n{result.stdout[-3000:]}")
    resolved = list((local / "com" / "bench").glob("lib*/1.0/lib*-1.0.jar"))
    if len(resolved) != artifacts:
        raise RuntimeError(f"{run}: resolved {len(resolved)} of {artifacts} artifacts")
    shutil.rmtree(local)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=int, default=30)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-maven-", dir=args.workdir))
    workdir.chmod(0o755)  # nginx workers run as an unprivileged user
    try:
        with RegistryServer(workdir / "var") as ours:
            ours.manage("bootstrap")
            token = ours.manage("shell", "-c", TOKEN_SCRIPT).strip().splitlines()[-1]
            auth = "Basic " + base64.b64encode(f"bench:{token}".encode()).decode()
            releases = f"{ours.url}/repository/maven-releases"
            static_root = workdir / "nginx"
            deploy_and_mirror(
                url=releases, auth=auth, artifacts=args.artifacts, static_root=static_root / "repo"
            )
            with Nginx(static_root) as nginx:
                paths = {
                    "maven-metadata.xml": f"{GROUP}/lib00/maven-metadata.xml",
                    ".pom": f"{GROUP}/lib00/1.0/lib00-1.0.pom",
                    ".sha1": f"{GROUP}/lib00/1.0/lib00-1.0.jar.sha1",
                }
                rows = []
                for label, path in paths.items():
                    rps_ours = requests_per_second(
                        f"{releases}/{path}",
                        auth=auth,
                        duration=args.duration,
                        connections=args.connections,
                    )
                    rps_nginx = requests_per_second(
                        f"{nginx.url}/{path}",
                        auth="",
                        duration=args.duration,
                        connections=args.connections,
                    )
                    rows.append((f"GET {label} (req/s)", rps_ours, rps_nginx, rps_ours / rps_nginx))
                # What a Django request costs here before any registry work: the ceiling.
                floor = requests_per_second(
                    f"{ours.url}/-/health",
                    auth="",
                    duration=args.duration,
                    connections=args.connections,
                )
                sides = {
                    "ours": (f"{releases}/", "bench", token),
                    "nginx": (f"{nginx.url}/", "", ""),
                }
                projects = {
                    side: write_consumer(
                        url=url, artifacts=args.artifacts, workdir=workdir, name=side
                    )
                    for side, (url, _, _) in sides.items()
                }
                times: dict[str, list[float]] = {side: [] for side in sides}
                # One unmeasured run warms the disk cache of the seeded plugins; then the
                # sides alternate so neither pays for going first.
                for run in range(args.runs + 1):
                    for side, (_, user, password) in sides.items():
                        elapsed = resolve_once(
                            project=projects[side],
                            user=user,
                            password=password,
                            artifacts=args.artifacts,
                            workdir=workdir,
                            run=f"{side}-{run}",
                        )
                        if run:
                            times[side].append(elapsed)
                time_ours = statistics.median(times["ours"])
                time_nginx = statistics.median(times["nginx"])
                rows.append(
                    (
                        f"mvn compile, {args.artifacts} artifacts (s)",
                        time_ours,
                        time_nginx,
                        time_ours / time_nginx,
                    )
                )
                # The same read without authentication: what the token check costs.
                ours.manage("shell", "-c", OPEN_SCRIPT)
                metadata = paths["maven-metadata.xml"]
                rps_open = requests_per_second(
                    f"{releases}/{metadata}",
                    auth="",
                    duration=args.duration,
                    connections=args.connections,
                )
                rows.append(("GET metadata, anonymous (req/s)", rps_open, rows[0][2], 0.0))
                rows[-1] = (*rows[-1][:3], rps_open / rows[0][2])
        tool = "wrk" if shutil.which("wrk") else "python threads"
        print(f"\nMaven reads, {args.connections} connections, {args.duration}s each ({tool})")
        print(f"{'measure':<38}{'registry':>12}{'nginx':>12}{'ratio':>8}")
        for label, value_ours, value_nginx, ratio in rows:
            print(f"{label:<38}{value_ours:>12.2f}{value_nginx:>12.2f}{ratio:>8.2f}")
        print(f"Django floor (GET /-/health: one SELECT 1, no auth): {floor:.0f} req/s")
        print("goals: metadata req/s ratio >= 0.50, resolve time ratio <= 1.10")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
