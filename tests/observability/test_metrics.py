"""/-/metrics: who may read it, and the values after real traffic (in process and summed over
the workers of a live gunicorn)."""

import io
import shutil
import subprocess
from datetime import timedelta

import pytest
import requests
from django.contrib.auth.models import Permission
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

from access.models import Role
from formats.errors import UpstreamUnavailable
from formats.proxy.upstream import upstream_open
from formats.services import repository_create
from storage.models import Blob
from storage.services import blob_ingest
from storage.tasks import blob_gc_task
from tests.factories import RepositoryFactory, UserFactory
from tests.live import free_port, require_client
from tests.observability.samples import metric_samples, metric_value


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("_case", "who", "status"),
    [
        ("anonymous is challenged", None, 401),
        ("a user without the permission is refused", "plain", 403),
        ("a superuser reads it", "superuser", 200),
        ("a monitoring user's token reads it", "monitoring", 200),
    ],
)
def test_metrics_are_for_admins_and_holders_of_read_metrics(client, make_token, _case, who, status):
    headers = {}
    if who is not None:
        user = UserFactory(is_superuser=who == "superuser")
        if who == "monitoring":
            user.user_permissions.add(Permission.objects.get(codename="read_metrics"))
        headers["Authorization"] = f"Bearer {make_token(user, read_only=True)}"

    response = client.get("/-/metrics", headers=headers)

    assert response.status_code == status
    if status == 401:
        assert response["WWW-Authenticate"] == 'Basic realm="registry"'
    if status == 200:
        assert response["Content-Type"].startswith("text/plain; version=")
        assert "registry_http_requests_total" in response.content.decode()


@pytest.mark.django_db
def test_public_metrics_need_no_credentials(client, settings):
    settings.METRICS_PUBLIC = True
    assert client.get("/-/metrics").status_code == 200


@pytest.mark.django_db
def test_status_is_for_superusers(client, make_token):
    plain, admin = UserFactory(), UserFactory(is_superuser=True)

    refused = client.get("/-/status", headers={"Authorization": f"Bearer {make_token(plain)}"})
    narrowed = make_token(admin, read_only=True)  # a superuser's token narrower than its user
    narrow = client.get("/-/status", headers={"Authorization": f"Bearer {narrowed}"})
    answer = client.get("/-/status", headers={"Authorization": f"Bearer {make_token(admin)}"})

    assert refused.status_code == 403
    assert narrow.status_code == 403
    assert answer.status_code == 200
    body = answer.json()
    assert set(body["versions"]) == {"python", "django", "celery", "database"}
    assert body["queue"]["name"]


@pytest.mark.django_db(transaction=True)
def test_task_runs_and_gc_freed_bytes_are_counted():
    orphan = blob_ingest(stream=io.BytesIO(b"g" * 1234))
    Blob.objects.filter(pk=orphan.pk).update(last_written=timezone.now() - timedelta(days=2))
    name = "storage.tasks.blob_gc_task"
    runs = REGISTRY.get_sample_value("registry_task_runs_total", {"task": name, "state": "SUCCESS"})
    freed = REGISTRY.get_sample_value("registry_gc_freed_bytes_total") or 0.0

    blob_gc_task.apply()

    after = REGISTRY.get_sample_value(
        "registry_task_runs_total", {"task": name, "state": "SUCCESS"}
    )
    assert after - (runs or 0.0) == 1
    assert REGISTRY.get_sample_value("registry_gc_freed_bytes_total") - freed == 1234
    assert REGISTRY.get_sample_value("registry_task_duration_seconds_count", {"task": name}) >= 1


@pytest.mark.django_db
def test_failed_upstream_fetches_are_counted_by_proxy_and_result():
    proxy = repository_create(
        name="closed-up",
        format="raw",
        kind="proxy",
        upstream_url=f"http://127.0.0.1:{free_port()}/",
    )
    labels = {"proxy": "closed-up", "result": "unavailable"}
    before = REGISTRY.get_sample_value("registry_upstream_fetches_total", labels) or 0.0

    with pytest.raises(UpstreamUnavailable):
        upstream_open(repository=proxy, url=proxy.upstream_url + "x")

    assert REGISTRY.get_sample_value("registry_upstream_fetches_total", labels) - before == 1


def _worker_requests(metrics_dir, tmp_path) -> dict[str, float]:
    """Requests each gunicorn worker counted, read from its own file in the metrics folder."""
    counted = {}
    for path in metrics_dir.glob("counter_*.db"):
        alone = tmp_path / path.stem
        alone.mkdir(parents=True)
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(alone))
        counted[path.stem] = sum(
            sample.value
            for family in registry.collect()
            if family.name == "registry_http_requests"
            for sample in family.samples
            if sample.labels.get("format") == "raw"
        )
    return counted


@pytest.mark.e2e
def test_a_scrape_sums_the_traffic_of_both_gunicorn_workers(
    live_registry, make_user, make_token, tmp_path
):
    repository = RepositoryFactory(name="counted", format="raw")
    writer = make_user(repository, Role.WRITE)
    admin = UserFactory(is_superuser=True)
    headers = {"Authorization": f"Bearer {make_token(admin)}"}
    auth = f"{writer.username}:{make_token(writer)}"
    payload = tmp_path / "f.bin"
    payload.write_bytes(b"m" * 10_000)
    curl = require_client("curl")
    base = f"{live_registry.url}/repository/counted"
    metrics_dir = live_registry.log.parent / "prometheus"

    def scrape() -> dict:
        answer = requests.get(f"{live_registry.url}/-/metrics", headers=headers, timeout=30)
        assert answer.status_code == 200
        return metric_samples(answer.text)

    before, served_before = scrape(), _worker_requests(metrics_dir, tmp_path / "before")
    for path in ("a.bin", "copy/a.bin"):  # the same bytes twice: one blob, 10 000 bytes saved
        subprocess.run([curl, "-sf", "-u", auth, "-T", str(payload), f"{base}/{path}"], check=True)
    downloads = 0
    # Parallel connections until both workers answered some (the kernel picks who accepts).
    for batch in range(10):
        urls = [f"{base}/a.bin"] * 16
        subprocess.run(
            [curl, "-sf", "--parallel", "--parallel-max", "16", "-u", auth]
            + [arg for url in urls for arg in ("-o", "/dev/null", url)],
            check=True,
        )
        downloads += len(urls)
        served = _worker_requests(metrics_dir, tmp_path / f"batch{batch}")
        busy = [pid for pid, count in served.items() if count > served_before.get(pid, 0)]
        if len(busy) >= 2:
            break
    assert len(busy) >= 2, served

    def delta(samples: dict, name: str, **labels: str) -> float:
        return metric_value(samples, name, **labels) - metric_value(before, name, **labels)

    for samples in [scrape() for _ in range(4)]:  # any worker answers with every worker's counts
        get = {"format": "raw", "method": "GET", "status": "200"}
        assert delta(samples, "registry_http_requests_total", **get) == downloads
        put = {"format": "raw", "method": "PUT", "status": "201"}
        assert delta(samples, "registry_http_requests_total", **put) == 2
        assert delta(samples, "registry_http_sent_bytes_total", format="raw") == downloads * 10_000
        assert delta(samples, "registry_http_received_bytes_total", format="raw") == 20_000
        timed = {"format": "raw", "operation": "RawFileView"}
        assert delta(samples, "registry_http_request_duration_seconds_count", **timed) == (
            downloads + 2
        )
        assert metric_value(samples, "registry_blobs") == 1
        assert metric_value(samples, "registry_blob_bytes") == 10_000
        assert metric_value(samples, "registry_dedup_saved_bytes") == 10_000
