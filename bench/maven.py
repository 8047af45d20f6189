"""Maven reads from the registry next to nginx serving the same repository tree as static files.

Usage: .venv/bin/python bench/maven.py [--artifacts 30] [--duration 10] [--connections 32]
                                       [--runs 3] [--workdir DIR]

Starts our server (gunicorn, base settings, a fresh var dir with ``maven-releases``, the group
``maven-public`` of it, a user and an API token, ``MIRROR_DIR`` set), nginx with our
production configuration (deploy/nginx.conf, filled in by tests/nginx.py) in front of it, and
nginx serving a static copy (the static-file limit), all on free loopback ports. Deploys N
artifacts to ``maven-releases`` over HTTP, copies what we serve into the static nginx's root,
then measures, for ours through the production nginx, the static nginx and ours direct
(gunicorn):

- requests/s for ``maven-metadata.xml``, a ``.pom`` and a ``.sha1`` at a fixed concurrency
  (wrk when installed, else a threaded Python client), ours with the token as Basic auth, and
  for ``maven-metadata.xml`` read from the group (mirrored too: the caller reads every member);
- wall time of ``mvn compile`` of a consumer depending on all N artifacts, fresh local
  repository per run, median of ``--runs``.

Prints a table with ratios. Never part of the test suite.
"""

import argparse
import base64
import io
import shutil
import subprocess
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

from harness import (
    USER,
    RegistryServer,
    load_client,
    print_table,
    requests_per_second,
)

from tests.nginx import ProductionNginx, StaticNginx  # the configuration the tests run

MAVEN_TYPES = "application/xml xml pom; application/java-archive jar; text/plain sha1 md5;"
GROUP = "com/bench"
CENTRAL = f"file://{Path.home()}/.m2/repository"
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

    def rate(url: str, auth: str = "") -> list[float]:
        headers = {"Authorization": auth} if auth else {}
        return [
            requests_per_second(
                [url], headers=headers, connections=args.connections, seconds=args.duration
            )
        ]

    mirror, downloads = workdir / "mirror", workdir / "downloads"
    downloads.mkdir()
    env = {"MIRROR_DIR": str(mirror), "MIRROR_DOWNLOADS_DIR": str(downloads)}
    try:
        with (
            RegistryServer(workdir / "var", env=env) as ours,
            ProductionNginx(
                workdir / "front",
                upstream=ours.host,
                mirror_dir=mirror,
                downloads_dir=downloads,
                blob_dir=workdir / "var" / "blobs",
                workers=2,
                access_log=False,
            ) as front,
        ):
            token = ours.create_token("maven-releases", format="maven")
            ours.manage(
                *("createrepo", "maven-public", "--format", "maven", "--kind", "group"),
                *("--member", "maven-releases"),
            )
            ours.manage("grant", "user", USER, "maven-public", "read")
            auth = "Basic " + base64.b64encode(f"{USER}:{token}".encode()).decode()
            releases = f"{ours.url}/repository/maven-releases"
            fronted = f"{front.url}/repository/maven-releases"
            static_root = workdir / "nginx"
            deploy_and_mirror(
                url=fronted, auth=auth, artifacts=args.artifacts, static_root=static_root / "repo"
            )
            with StaticNginx(
                workdir / "static-nginx",
                serve=static_root / "repo",
                types=MAVEN_TYPES,
                workers=2,
                access_log=False,
            ) as nginx:
                paths = {
                    "maven-metadata.xml": f"{GROUP}/lib00/maven-metadata.xml",
                    ".pom": f"{GROUP}/lib00/1.0/lib00-1.0.pom",
                    ".sha1": f"{GROUP}/lib00/1.0/lib00-1.0.jar.sha1",
                }
                rows = [
                    (
                        f"GET {label} (req/s)",
                        [
                            rate(f"{fronted}/{path}", auth),
                            rate(f"{nginx.url}/{path}"),
                            rate(f"{releases}/{path}", auth),
                        ],
                        ">= 0.50" if label == "maven-metadata.xml" else "",
                    )
                    for label, path in paths.items()
                ]
                group = f"/repository/maven-public/{paths['maven-metadata.xml']}"
                rows.append(
                    (
                        "GET maven-metadata.xml, group (req/s)",
                        [
                            rate(f"{front.url}{group}", auth),
                            rows[0][1][1],
                            rate(f"{ours.url}{group}", auth),
                        ],
                        "",
                    )
                )
                # What a Django request costs here before any registry work: the ceiling.
                floor = rate(f"{ours.url}/-/health")[0]
                sides = {
                    "front": (f"{fronted}/", USER, token),
                    "nginx": (f"{nginx.url}/", "", ""),
                    "ours": (f"{releases}/", USER, token),
                }
                projects = {
                    side: write_consumer(
                        url=url, artifacts=args.artifacts, workdir=workdir, name=side
                    )
                    for side, (url, _, _) in sides.items()
                }
                times: dict[str, list[float]] = {side: [] for side in sides}
                # One unmeasured run warms the disk cache of the seeded plugins; then the
                # sides alternate so none pays for going first.
                for run in range(args.runs + 1):
                    order = list(sides.items())
                    for side, (_, user, password) in order if run % 2 else order[::-1]:
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
                label = f"mvn compile, {args.artifacts} artifacts (s)"
                rows.append((label, [times[side] for side in sides], "<= 1.10"))
                # The same read without authentication: what the token check costs.
                ours.manage("shell", "-c", OPEN_SCRIPT)
                metadata = [
                    rate(f"{fronted}/{paths['maven-metadata.xml']}"),
                    rows[0][1][1],
                    rate(f"{releases}/{paths['maven-metadata.xml']}"),
                ]
                rows.append(("GET metadata, anonymous (req/s)", metadata, ""))
        print_table(
            f"Maven reads, {args.connections} connections, {args.duration}s each ({load_client()})",
            ["registry+nginx", "nginx static", "registry"],
            rows,
        )
        print(f"Django floor (GET /-/health: one SELECT 1, no auth): {floor:.0f} req/s")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
