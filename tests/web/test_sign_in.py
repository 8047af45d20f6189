"""The web UI's own sign-in: for every active user, CSRF-protected, ``next`` kept on the site."""

import pytest
from django.test import Client

from access.models import Role
from tests.factories import PASSWORD, RepositoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def secret(db):
    return RepositoryFactory(name="team-secret")


@pytest.fixture
def bob(secret, make_user):
    """A user who is not staff, with a role on a private repository."""
    return make_user(secret, Role.READ, username="bob")


def test_the_sign_in_link_goes_to_the_ui_sign_in(client):
    page = client.get("/")

    assert '<a href="/ui/login/?next=/">Sign in</a>' in page.content.decode()
    assert "/admin/login/" not in page.content.decode()


def test_a_user_who_is_not_staff_signs_in_and_sees_private_repositories(client, bob):
    form = client.get("/ui/login/?next=/ui/repositories/team-secret/")
    assert form.status_code == 200

    response = client.post(
        "/ui/login/",
        {"username": "bob", "password": PASSWORD, "next": "/ui/repositories/team-secret/"},
    )

    assert (response.status_code, response["Location"]) == (302, "/ui/repositories/team-secret/")
    assert client.get("/ui/repositories/team-secret/").status_code == 200
    index = client.get("/").content.decode()
    assert "team-secret" in index
    assert '<span id="signed-in-user">bob</span>' in index
    assert 'href="/admin/"' not in index  # the console link is for staff


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x()"]
)
def test_next_outside_the_site_is_replaced_by_the_index(client, bob, next_url):
    response = client.post(
        "/ui/login/", {"username": "bob", "password": PASSWORD, "next": next_url}
    )

    assert (response.status_code, response["Location"]) == (302, "/")


def test_a_wrong_password_shows_the_form_again(client, bob):
    response = client.post("/ui/login/", {"username": "bob", "password": "wrong"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_inactive_user_cannot_sign_in(client, bob):
    bob.is_active = False
    bob.save()

    response = client.post("/ui/login/", {"username": "bob", "password": PASSWORD})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_sign_in_requires_the_csrf_token(bob):
    browser = Client(enforce_csrf_checks=True)

    response = browser.post("/ui/login/", {"username": "bob", "password": PASSWORD})

    assert response.status_code == 403
    assert "_auth_user_id" not in browser.session


def test_sign_out_is_a_post(client, bob):
    client.force_login(bob)

    assert client.get("/ui/logout/").status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post("/ui/logout/")
    assert (response.status_code, response["Location"]) == (302, "/")
    assert "_auth_user_id" not in client.session
    assert "team-secret" not in client.get("/").content.decode()
