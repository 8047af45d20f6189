"""Security headers: CSP on the HTML pages; HSTS and Secure cookies when HTTPS is configured."""

from collections.abc import Iterator

import pytest
import requests

from tests.factories import PASSWORD, UserFactory
from tests.live import LiveServer, start_server

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": "'self'",
    "style-src": "'self'{nonce}",
    "img-src": "'self' data: https:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def policy(*, nonce: str = "") -> dict[str, str]:
    return {name: value.format(nonce=nonce) for name, value in POLICY.items()}


def directives(header: str) -> dict[str, str]:
    """The policy as {directive: sources} (django-csp does not keep the settings' order)."""
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def test_ui_pages_carry_the_csp_and_take_style_and_script_from_the_site_only(client):
    response = client.get("/")
    page = response.content.decode()

    assert directives(response["Content-Security-Policy"]) == policy()
    assert '<link rel="stylesheet" href="/static/web/ui.css">' in page
    assert '<script src="/static/web/ui.js" defer></script>' in page
    assert ("<style" in page, " style=" in page, "<script>" in page) == (False, False, False)


def test_the_admin_console_carries_the_csp(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == policy()


def test_plain_http_gets_no_hsts_and_no_secure_cookies(client):
    response = client.get("/ui/login/", headers={"X-Forwarded-Proto": "https"})

    assert "Strict-Transport-Security" not in response
    assert response.cookies["csrftoken"]["secure"] == ""


@pytest.fixture
def https_server(transactional_db, tmp_path) -> Iterator[LiveServer]:
    """Our server as configured behind a TLS-terminating proxy."""
    server = start_server(
        tmp_path,
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        SECURE_COOKIES="true",
    )
    yield server
    server.stop()


@pytest.mark.e2e
def test_https_behind_a_proxy_gets_hsts_and_secure_cookies(https_server):
    UserFactory(username="dana")
    proxied = {"X-Forwarded-Proto": "https"}

    form = requests.get(f"{https_server.url}/ui/login/", headers=proxied, timeout=30)
    # The cookie is Secure, so requests would not send it back over http: the proxy's side.
    signed_in = requests.post(
        f"{https_server.url}/ui/login/",
        data={
            "username": "dana",
            "password": PASSWORD,
            "csrfmiddlewaretoken": form.cookies["csrftoken"],
        },
        headers={**proxied, "Referer": f"https://{https_server.host}/ui/login/"},
        cookies={"csrftoken": form.cookies["csrftoken"]},
        allow_redirects=False,
        timeout=30,
    )
    plain = requests.get(f"{https_server.url}/", timeout=30)

    assert form.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Secure" in form.headers["Set-Cookie"].split("; ")
    assert signed_in.status_code == 302
    session_cookie = next(
        c for c in signed_in.raw.headers.getlist("Set-Cookie") if "sessionid" in c
    )
    assert "Secure" in session_cookie.split("; ")
    assert "Strict-Transport-Security" not in plain.headers
