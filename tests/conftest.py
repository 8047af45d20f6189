"""Shared fixtures: users with roles, tokens, a live server and a Celery worker."""

import uuid
from collections.abc import Iterator
from subprocess import Popen

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import TransactionTestCase

from access.models import Role
from access.services import role_grant, token_create
from registry_project.celery import app as celery_app
from tests.factories import PASSWORD, RepositoryFactory, UserFactory
from tests.live import LiveServer, database_quiet_wait, start_server, start_worker
from tests.s3 import S3Server, ensure_environment_bucket, start_s3_server
from tests.upstreams import _upstream_registry, upstream_registry  # noqa: F401 (fixtures)


def pytest_configure(config: pytest.Config) -> None:
    """A transactional test's closing flush waits for live processes' transactions to end."""
    flush = TransactionTestCase._fixture_teardown

    def flush_when_quiet(self: TransactionTestCase) -> None:
        database_quiet_wait()
        flush(self)

    TransactionTestCase._fixture_teardown = flush_when_quiet  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _fresh_local_cache() -> None:
    """Each test starts with no verified token or password in this process's memory: a flushed
    database may give a new token an id an earlier test's cached token had."""
    caches["local"].clear()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def make_user(db):
    """Create a user holding ``role`` on ``repository`` (or no role)."""

    def make(repository=None, role: Role | None = None, **fields):
        user = UserFactory(**fields)
        if repository is not None and role is not None:
            role_grant(repository=repository, role=role, user=user)
        return user

    return make


@pytest.fixture
def make_token(db):
    def make(user, **options) -> str:
        return token_create(user=user, **options).secret

    return make


@pytest.fixture
def raw_repository(db):
    return RepositoryFactory(name="raw-files", format="raw")


@pytest.fixture(scope="session")
def _live_server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("live-server"))
    yield server
    server.stop()


@pytest.fixture
def live_registry(_live_server: LiveServer, transactional_db) -> LiveServer:
    """A gunicorn process serving the test database; data must be committed to be seen."""
    if _live_server.process.poll() is not None:
        pytest.fail(f"live server died: {_live_server.log.read_text()[-3000:]}")
    return _live_server


@pytest.fixture(scope="session")
def _celery_worker(django_db_setup, tmp_path_factory) -> Iterator[Popen | None]:
    if not settings.CELERY_BROKER_URL:
        yield None  # no broker: tasks run in process, as in the embedded default
        return
    queue = f"test-{uuid.uuid4().hex[:12]}"
    celery_app.conf.task_default_queue = queue
    worker = start_worker(tmp_path_factory.mktemp("celery-worker"), queue)
    yield worker
    worker.terminate()
    worker.wait(timeout=30)


@pytest.fixture
def tasks_in_process() -> Iterator[None]:
    """Run tasks in this process, as without a broker: a worker cannot see uncommitted rows."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager


@pytest.fixture
def celery_worker(_celery_worker, transactional_db) -> Popen | None:
    """A real Celery worker process when CELERY_BROKER_URL is set, else in-process tasks."""
    return _celery_worker


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[S3Server]:
    """A real S3-compatible server process (moto), or the one the environment names."""
    server = start_s3_server(tmp_path_factory.mktemp("s3-server"))
    yield server
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def _environment_bucket() -> None:
    """CI's S3 pass names a store in the environment; its bucket exists before any test."""
    ensure_environment_bucket()
