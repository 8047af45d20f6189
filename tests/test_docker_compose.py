"""docker-compose.yml is the production shape, and runs what the scale-out test runs.

No Docker here: the file is parsed, and its registry environment is checked by Django itself.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
# The commands tests/live.py and tests/scaleout/cluster.py start.
SCALEOUT_COMMANDS = {
    "web": "gunicorn registry_project.wsgi",
    "worker": "celery -A registry_project worker",
    "beat": "celery -A registry_project beat",
}


def _interpolate(value: object) -> str:
    """Resolve ``${NAME:-default}`` and ``${NAME:?message}`` as docker compose would here."""
    return re.sub(
        r"\$\{(\w+)(?::-([^}]*)|:\?[^}]*)?\}",
        lambda match: os.environ.get(match[1], match[2] or f"set-{match[1].lower()}"),
        str(value),
    )


def test_every_registry_process_runs_a_command_the_scale_out_test_runs():
    for name, command in SCALEOUT_COMMANDS.items():
        assert command in " ".join(SERVICES[name]["command"].split()), name
    assert SERVICES["web"]["deploy"]["replicas"] >= 2


def test_the_worker_serves_its_task_metrics_inside_the_network_only():
    worker = SERVICES["worker"]
    environment = worker["environment"]
    assert environment["DATABASE_URL"] == COMPOSE["x-registry"]["environment"]["DATABASE_URL"]
    assert worker["expose"] == [str(environment["WORKER_METRICS_PORT"])]
    assert environment["PROMETHEUS_MULTIPROC_DIR"]
    assert "ports" not in worker


def test_blobs_live_in_minio_and_leave_by_presigned_redirects():
    environment = COMPOSE["x-registry"]["environment"]
    bucket = environment["BLOB_STORE_URL"].removeprefix("s3://").partition("/")[0]
    assert environment["BLOB_SERVE_MODE"] == "redirect"
    assert "MIRROR_DIR" not in environment
    assert SERVICES["minio"]["image"] == "minio/minio"
    # The bucket exists before any registry process starts.
    assert f"mc mb --ignore-existing store/{bucket}" in SERVICES["bucket"]["entrypoint"]
    for name in SCALEOUT_COMMANDS:
        depends = SERVICES[name]["depends_on"]
        assert depends["bucket"] == {"condition": "service_completed_successfully"}, name
    # Clients follow the redirects to the endpoint the registry signs: MinIO answers to that
    # name inside the network and on the published port outside.
    host = _interpolate(environment["AWS_ENDPOINT_URL"]).split("//")[1].split(":")[0]
    assert [_interpolate(a) for a in SERVICES["minio"]["networks"]["default"]["aliases"]] == [host]
    assert SERVICES["minio"]["ports"] == ["9000:9000"]
    assert SERVICES["nginx"]["depends_on"] == ["web"]


def test_the_registry_environment_passes_the_startup_checks(tmp_path):
    environment = {
        name: _interpolate(value) for name, value in COMPOSE["x-registry"]["environment"].items()
    }
    # Only the services are not here: a local database and folder stand in for them.
    environment |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REGISTRY_VAR_DIR": str(tmp_path),
        "ALLOWED_HOSTS": "localhost",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "System check identified no issues" in result.stdout
