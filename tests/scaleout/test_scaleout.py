"""The registry scaled out: two web replicas, two Celery workers and beat, one database, one store.

Clients push through one server and pull through the other for every format, an OCI chunked
upload starts on one and finishes on the other, a proxy fetches a cold file once for both, and
the workers run garbage collection and cleanup the whole time (with a grace period of seconds,
so collection really races the pushes). At the end of each test every asset's bytes are read
back and hashed: nothing lost, nothing stored twice, and no answer of either server was a 5xx.
"""

import hashlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from django.conf import settings

from access.models import Role
from access.services import role_grant, token_create
from formats.lifecycle.cleanup import policy_set
from formats.models import Asset, Repository, Version
from formats.oci.tasks import oci_gc_task
from formats.services import repository_create
from formats.tasks import cleanup_task
from storage.backends import blob_backend
from storage.models import Blob, blob_path
from storage.tasks import blob_gc_task
from tests.e2e.test_maven_mvn import _deploy_file, _jar, _mvn, _settings
from tests.e2e.test_npm_cli import Npm, _login, _project
from tests.e2e.test_oci_skopeo import Client
from tests.factories import PASSWORD, UserFactory
from tests.formats.oci.clients import Skopeo, image_layout
from tests.formats.pypi.dists import make_wheel
from tests.live import BIN, require_client
from tests.nginx import StaticNginx
from tests.scaleout.cluster import Cluster, cluster_running

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GRACE_SECONDS = 5  # the workers' GC grace: content unreferenced for 5 s is collected
# A project whose only dependency is the jar deployed through the other replica.
CONSUMER_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId><artifactId>consumer</artifactId><version>1.0</version>
  <repositories><repository><id>registry</id><url>{url}</url></repository></repositories>
  <dependencies>
    <dependency><groupId>com.example</groupId><artifactId>scale</artifactId><version>1.0</version>
    </dependency>
  </dependencies>
  <build><pluginManagement><plugins>
    <plugin><artifactId>maven-resources-plugin</artifactId><version>3.3.1</version></plugin>
    <plugin><artifactId>maven-compiler-plugin</artifactId><version>3.13.0</version></plugin>
  </plugins></pluginManagement></build>
</project>
"""


@pytest.fixture(scope="module")
def cluster(django_db_setup, tmp_path_factory) -> Iterator[Cluster]:
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") or not (
        settings.CELERY_BROKER_URL
    ):
        pytest.skip("scale-out needs PostgreSQL (DATABASE_URL) and a broker (CELERY_BROKER_URL)")
    root = tmp_path_factory.mktemp("scaleout")
    with cluster_running(root, BLOB_GC_GRACE_SECONDS=str(GRACE_SECONDS)) as running:
        yield running


@pytest.fixture
def replicas(cluster: Cluster, transactional_db) -> Iterator[Cluster]:
    """The cluster, checked alive; afterwards the store is checked whole and no 5xx answered."""
    cluster.check_alive()
    seen = len(cluster.access_lines())
    yield cluster
    cluster.check_alive()
    answered = cluster.access_lines()[seen:]
    assert answered, "the servers logged no access lines"
    errors = [entry for entry in answered if entry["status"] >= 500]
    assert not errors, errors
    _assert_store_whole()


def _assert_store_whole() -> None:
    """Every blob is in the store, and every asset's bytes read back hash to its digest."""
    backend = blob_backend()
    missing = [
        sha
        for sha in Blob.objects.values_list("sha256", flat=True)
        if not backend.exists(blob_path(sha))
    ]
    assert not missing, missing
    for sha256 in Asset.objects.values_list("blob__sha256", flat=True).distinct():
        with backend.open(blob_path(sha256)) as stored:
            assert hashlib.file_digest(stored, "sha256").hexdigest() == sha256


@contextmanager
def collecting(cluster: Cluster) -> Iterator[list]:
    """Send GC, OCI GC and cleanup to the workers back to back until the block ends.

    Yields the list of finished results (dicts) of blob GC; every task must succeed.
    """
    stop = threading.Event()
    sent: list = []

    def loop() -> None:
        while not stop.is_set():
            for task in (cleanup_task, oci_gc_task, blob_gc_task):
                sent.append((task.name, task.apply_async(queue=cluster.queue)))
            stop.wait(0.5)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    freed: list = []
    try:
        yield freed
    finally:
        stop.set()
        thread.join()
        for name, result in sent:
            value = result.get(timeout=120)  # raises if the task failed
            if name == blob_gc_task.name:
                freed.append(value)


def _writer(*repositories: Repository) -> tuple[object, str]:
    user = UserFactory(username="ci")
    for repository in repositories:
        role_grant(repository=repository, role=Role.DELETE, user=user)
    return user, token_create(user=user).secret


def _curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        # --location: with BLOB_SERVE_MODE=redirect downloads answer a presigned URL of the store.
        [require_client("curl"), "--silent", "--show-error", "--fail", "--location", *args],
        capture_output=True,
        check=True,
        timeout=120,
    )


def test_every_format_pushed_through_one_replica_is_pulled_through_the_other(
    replicas: Cluster, tmp_path: Path
):
    a, b = replicas.servers
    repos = {
        "raw": repository_create(name="files", format="raw"),
        "npm": repository_create(name="npm", format="npm"),
        "pypi": repository_create(name="py", format="pypi"),
        "maven": repository_create(
            name="releases", format="maven", config={"version_policy": "release"}
        ),
        "oci": repository_create(name="img", format="oci"),
    }
    user, token = _writer(*repos.values())
    policy_set(repository=repos["npm"], keep_last=2)

    with collecting(replicas) as gc_results:
        # raw: the same bytes through both replicas are one blob; a deleted file is garbage.
        shared = tmp_path / "shared.bin"
        shared.write_bytes(os.urandom(300_000))
        for server, path in ((a, "one/shared.bin"), (b, "two/shared.bin")):
            _curl("-u", f"ci:{token}", "-T", str(shared), f"{server.url}/repository/files/{path}")
        doomed = tmp_path / "doomed.bin"
        doomed.write_bytes(os.urandom(200_000))
        _curl("-u", f"ci:{token}", "-T", str(doomed), f"{a.url}/repository/files/doomed.bin")
        for path in ("one/shared.bin", "two/shared.bin"):
            pulled = _curl("-u", f"ci:{token}", f"{b.url}/repository/files/{path}").stdout
            assert pulled == shared.read_bytes()
        _curl("-u", f"ci:{token}", "-X", "DELETE", f"{b.url}/repository/files/doomed.bin")

        # npm: four versions published through A; B installs one; cleanup keeps the last two.
        npm_binary = require_client("npm")
        registry_a = f"{a.url}/repository/npm/"
        npm_token = _login(registry_a, "ci", PASSWORD)
        assert npm_token.status_code in (200, 201), npm_token.text
        publisher = Npm(npm_binary, _dir(tmp_path / "npm-a"), registry_a, npm_token.json()["token"])
        for patch in range(4):
            package = _project(
                tmp_path / f"pkg-{patch}",
                {"name": "scale-pkg", "version": f"1.0.{patch}", "main": "index.js"},
                {"index.js": f"module.exports = {patch};\n"},
            )
            publisher("publish", cwd=package)
        registry_b = f"{b.url}/repository/npm/"
        consumer = Npm(npm_binary, _dir(tmp_path / "npm-b"), registry_b, npm_token.json()["token"])
        app = _project(
            tmp_path / "app",
            {"name": "app", "version": "1.0.0", "private": True},
            {},
        )
        consumer("install", "scale-pkg@1.0.3", cwd=app)
        installed = json.loads((app / "node_modules/scale-pkg/package.json").read_text())
        assert installed["version"] == "1.0.3"

        # PyPI: twine uploads through A, pip downloads through B.
        name, wheel = make_wheel("scale-wheel", "1.0")
        (tmp_path / "dist").mkdir()
        (tmp_path / "dist" / name).write_bytes(wheel)
        subprocess.run(
            [str(BIN / "twine"), "upload", "--non-interactive", "--disable-progress-bar"]
            + ["--repository-url", f"{a.url}/repository/py/", "-u", "__token__", "-p", token]
            + [str(tmp_path / "dist" / name)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        index = f"http://__token__:{token}@{b.host}/repository/py/simple/"
        subprocess.run(
            [str(BIN / "python"), "-m", "pip", "download", "--isolated", "--no-cache-dir"]
            + ["--no-deps", "--index-url", index, "-d", str(tmp_path / "got"), "scale-wheel==1.0"],
            check=True,
            capture_output=True,
            timeout=120,
            env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
        )
        assert (tmp_path / "got" / name).read_bytes() == wheel

        # Maven: mvn deploys through A and resolves through B.
        producer = _settings(tmp_path, "producer", "ci", token)
        jar = tmp_path / "scale-1.0.jar"
        jar.write_bytes(_jar("scale.txt"))
        coordinates = ("-DgroupId=com.example", "-DartifactId=scale", "-Dversion=1.0")
        deployed = _deploy_file(
            producer, f"{a.url}/repository/releases/", jar, *coordinates, cwd=tmp_path
        )
        assert deployed.returncode == 0, deployed.stdout[-3000:]
        consumer_project = _dir(tmp_path / "consumer")
        (consumer_project / "pom.xml").write_text(
            CONSUMER_POM.format(url=f"{b.url}/repository/releases/")
        )
        resolved = _mvn(
            _settings(tmp_path, "consumer", "ci", token), "compile", cwd=consumer_project
        )
        assert resolved.returncode == 0, resolved.stdout[-3000:]
        local = tmp_path / "consumer-m2/com/example/scale/1.0/scale-1.0.jar"
        assert local.read_bytes() == jar.read_bytes()

        # OCI: skopeo pushes through A and copies back through B, same manifest digest.
        skopeo = Skopeo(tmp_path / "skopeo")
        layout = image_layout(tmp_path / "image")
        creds = f"ci:{token}"
        skopeo.push(f"oci:{layout.path}:v1", f"docker://{a.host}/img/app:v1", creds=creds)
        skopeo(
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            creds,
            f"docker://{b.host}/img/app:v1",
            f"oci:{tmp_path / 'pulled'}:v1",
        )
        pulled = json.loads((tmp_path / "pulled" / "index.json").read_text())
        assert pulled["manifests"][0]["digest"] == layout.descriptor("v1")["digest"]

        # The deleted raw file's blob goes once its grace has passed, pushes or not.
        deadline = time.monotonic() + 60
        doomed_sha = hashlib.sha256(doomed.read_bytes()).hexdigest()
        while Blob.objects.filter(sha256=doomed_sha).exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not Blob.objects.filter(sha256=doomed_sha).exists()

    assert any(result["blobs"] for result in gc_results), gc_results
    assert Blob.objects.filter(sha256=hashlib.sha256(shared.read_bytes()).hexdigest()).count() == 1
    kept = Version.objects.filter(package__repository=repos["npm"], package__name="scale-pkg")
    assert sorted(kept.values_list("version", flat=True)) == ["1.0.2", "1.0.3"]
    view = consumer("view", "scale-pkg", "versions", "--json")
    assert json.loads(view.stdout) == ["1.0.2", "1.0.3"]


def _dir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def test_an_oci_chunked_upload_started_on_one_replica_finishes_on_the_other(
    replicas: Cluster, tmp_path: Path
):
    a, b = replicas.servers
    repository = repository_create(name="img", format="oci")
    user, _ = _writer(repository)
    on_a = Client(a.url, user, PASSWORD)
    on_a.login("repository:img/chunked:push,pull")
    on_b = Client(b.url, user, PASSWORD)
    on_b.session.headers["Authorization"] = on_a.session.headers["Authorization"]
    data = os.urandom(3 * 1024 * 1024 + 17)
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    cut = len(data) // 2

    with collecting(replicas):
        started = on_a.post("/v2/img/chunked/blobs/uploads/")
        assert started.status_code == 202, started.text
        location = started.headers["Location"]
        path = location.removeprefix(a.url)
        first = on_a.patch(
            path,
            data=data[:cut],
            headers={"Content-Range": f"0-{cut - 1}", "Content-Type": "application/octet-stream"},
        )
        assert first.status_code == 202, first.text
        second = on_b.patch(
            first.headers["Location"].removeprefix(a.url),
            data=data[cut:],
            headers={
                "Content-Range": f"{cut}-{len(data) - 1}",
                "Content-Type": "application/octet-stream",
            },
        )
        assert second.status_code == 202, second.text
        finished = on_b.put(
            second.headers["Location"].removeprefix(b.url), params={"digest": digest}
        )
        assert finished.status_code == 201, finished.text
        # A manifest that needs the blob, so collection keeps it.
        config = b'{"architecture":"amd64","os":"linux"}'
        config_digest = f"sha256:{hashlib.sha256(config).hexdigest()}"
        pushed = on_a.post(
            "/v2/img/chunked/blobs/uploads/", params={"digest": config_digest}, data=config
        )
        assert pushed.status_code == 201, pushed.text
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": config_digest,
                    "size": len(config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": digest,
                        "size": len(data),
                    }
                ],
            }
        ).encode()
        tagged = on_b.put(
            "/v2/img/chunked/manifests/v1",
            data=manifest,
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        )
        assert tagged.status_code == 201, tagged.text
        time.sleep(GRACE_SECONDS + 2)  # past the grace: collection ran with nothing to spare

    for client in (on_a, on_b):
        got = client.get(f"/v2/img/chunked/blobs/{digest}")
        assert got.status_code == 200
        assert hashlib.sha256(got.content).hexdigest() == digest.split(":")[1]


def test_a_proxy_fetches_a_cold_file_once_for_both_replicas(replicas: Cluster, tmp_path: Path):
    a, b = replicas.servers
    served = tmp_path / "served"
    served.mkdir()
    content = os.urandom(8 * 1024 * 1024)
    (served / "big.bin").write_bytes(content)
    with StaticNginx(tmp_path / "nginx", serve=served) as upstream:
        repository_create(
            name="mirror",
            format="raw",
            kind="proxy",
            anonymous_read=True,
            upstream_url=f"{upstream.url}/",
        )
        urls = [f"{(a, b)[i % 2].url}/repository/mirror/big.bin" for i in range(20)]
        with collecting(replicas), ThreadPoolExecutor(20) as pool:
            bodies = list(pool.map(lambda url: requests.get(url, timeout=120), urls))
        assert [response.status_code for response in bodies] == [200] * 20
        assert all(response.content == content for response in bodies)
        fetches = [line for line in upstream.access_lines() if "GET /big.bin " in line]
        assert len(fetches) == 1, fetches
