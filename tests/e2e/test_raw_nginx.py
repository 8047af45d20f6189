"""Raw files through nginx with BLOB_SERVE_MODE=x-accel: nginx sends the bytes, safely.

nginx keeps Content-Type and Content-Disposition of the registry's X-Accel-Redirect answer but
drops its other headers, so deploy/nginx.conf adds the sandbox itself.
"""

from collections.abc import Iterator

import pytest
import requests
from django.conf import settings

from access.models import Role
from tests.factories import PASSWORD, RepositoryFactory
from tests.live import LiveServer, require_client, start_server
from tests.nginx import ProductionNginx

pytestmark = pytest.mark.e2e

PAGE = b"<html><script>alert(document.cookie)</script></html>"


@pytest.fixture(scope="module")
def x_accel_nginx(django_db_setup, tmp_path_factory) -> Iterator[ProductionNginx]:
    binary = require_client("nginx")
    server: LiveServer = start_server(
        tmp_path_factory.mktemp("x-accel-server"), BLOB_SERVE_MODE="x-accel"
    )
    nginx = ProductionNginx(
        tmp_path_factory.mktemp("x-accel-nginx"),
        upstream=server.host,
        mirror_dir=tmp_path_factory.mktemp("unused-mirror"),
        downloads_dir=tmp_path_factory.mktemp("unused-downloads"),
        blob_dir=settings.BLOB_STORE_DIR,
        binary=binary,
    )
    try:
        nginx.start()
        yield nginx
    finally:
        nginx.stop()
        server.stop()


def test_files_sent_by_nginx_are_sandboxed_attachments(x_accel_nginx, transactional_db, make_user):
    repository = RepositoryFactory(name="raw-x-accel", format="raw")
    user = make_user(repository, Role.WRITE)
    url = f"{x_accel_nginx.url}/repository/raw-x-accel/page.html"
    auth = (user.username, PASSWORD)
    put = requests.put(url, data=PAGE, headers={"Content-Type": "text/html"}, auth=auth, timeout=30)
    assert put.status_code == 201

    response = requests.get(url, auth=auth, timeout=30)

    assert response.status_code == 200
    assert response.content == PAGE
    assert response.headers["Server"].startswith("nginx")
    assert response.headers["Content-Type"] == "text/html"
    assert response.headers["Content-Disposition"] == "attachment"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
