"""Deeply nested JSON is a 400 in each protocol's terms wherever JSON is read, never a 500."""

import json

import pytest
from rest_framework.test import APIClient

from access.models import Role
from access.services import token_create
from formats.models import Document, Package, Repository, Version
from registry_project import jsonbody
from registry_project.errors import DocumentTooDeep
from storage.models import Blob
from tests.factories import RepositoryFactory, UserFactory
from tests.formats.npm.helpers import make_tarball, publish_body
from tests.formats.oci.helpers import basic

DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("_case", "document", "max_depth", "expected"),
    [
        ("at the limit", b"[[[]]]", 3, [[[]]]),
        ("brackets inside strings do not count", b'[["[[[[", "\\"[["]]', 2, [["[[[[", '"[[']]),
        ("an escaped backslash ends before the quote", b'["\\\\", {"a": 1}]', 2, ["\\", {"a": 1}]),
        ("UTF-16 is decoded as json.loads does", '{"a": [1]}'.encode("utf-16"), 2, {"a": [1]}),
    ],
)
def test_documents_within_the_limit_parse_as_json_loads_does(_case, document, max_depth, expected):
    assert jsonbody.loads(document, max_depth=max_depth) == expected == json.loads(document)


@pytest.mark.parametrize(
    ("_case", "document"),
    [
        ("one level too deep", b"[[[[]]]]"),
        ("objects count too", b'{"a": {"b": {"c": {}}}}'),
        ("100 000 levels", DEEP),
    ],
)
def test_documents_over_the_limit_are_refused_before_parsing(_case, document):
    with pytest.raises(DocumentTooDeep) as raised:
        jsonbody.loads(document, max_depth=3)
    assert (raised.value.http_status, raised.value.message) == (
        400,
        "JSON document nested deeper than 3 levels",
    )


@pytest.fixture
def npm_auth(make_user, make_token):
    repository = RepositoryFactory(name="npm", format="npm")
    return {"HTTP_AUTHORIZATION": f"Bearer {make_token(make_user(repository, Role.WRITE))}"}


NPM_TOO_DEEP = {"error": "JSON document nested deeper than 64 levels"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("_case", "path"),
    [
        ("publish", "tinylib"),
        ("unpublish", "tinylib/-rev/1-a"),
        ("dist-tag", "-/package/tinylib/dist-tags/x"),
    ],
)
def test_npm_deep_bodies_answer_npm_errors(client, npm_auth, _case, path):
    published = client.put(
        "/repository/npm/tinylib",
        data=publish_body("tinylib", "1.0.0"),
        content_type="application/json",
        **npm_auth,
    )
    assert published.status_code == 201
    before = bytes(Document.objects.get(key="packument:tinylib").content)

    response = client.put(
        f"/repository/npm/{path}", data=DEEP, content_type="application/json", **npm_auth
    )

    assert (response.status_code, response.json()) == (400, NPM_TOO_DEEP)
    assert bytes(Document.objects.get(key="packument:tinylib").content) == before


@pytest.mark.django_db
def test_npm_tarball_with_a_deep_package_json_is_refused(client, npm_auth):
    manifest = '{"name": "tinylib", "version": "1.0.0", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    tarball = make_tarball({}, files={"package.json": manifest.encode()})

    response = client.put(
        "/repository/npm/tinylib",
        data=publish_body("tinylib", "1.0.0", tarball=tarball),
        content_type="application/json",
        **npm_auth,
    )

    assert (response.status_code, response.json()) == (400, NPM_TOO_DEEP)
    assert (Package.objects.exists(), Blob.objects.exists()) == (False, False)


@pytest.mark.django_db
def test_oci_deep_manifest_is_manifest_invalid(client, make_user):
    repository = RepositoryFactory(name="oci", format="oci")
    headers = basic(make_user(repository, Role.WRITE))

    response = client.put(
        "/v2/oci/demo/manifests/v1",
        data=DEEP,
        content_type="application/vnd.oci.image.manifest.v1+json",
        headers=headers,
    )

    assert response.status_code == 400
    assert [error["code"] for error in response.json()["errors"]] == ["MANIFEST_INVALID"]
    assert "JSON document nested deeper than 64 levels" in response.json()["errors"][0]["message"]
    assert (Version.objects.exists(), Document.objects.exists()) == (False, False)


@pytest.mark.django_db
def test_management_api_deep_bodies_are_parse_errors():
    admin = UserFactory(is_staff=True, is_superuser=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=admin).secret}")
    body = b'{"name": "deep", "format": "raw", "config": ' + DEEP + b"}"

    response = api.post("/api/v1/repositories/", data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "code": "parse_error",
        "message": "JSON parse error - JSON document nested deeper than 64 levels",
        "detail": {},
    }
    assert Repository.objects.filter(name="deep").exists() is False


@pytest.mark.django_db
def test_admin_deep_repository_config_is_a_form_error(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    form = {
        "name": "deep",
        "format": "raw",
        "kind": "hosted",
        "immutable_tag_exceptions": "latest",
        "config": "[" * 100_000 + "]" * 100_000,
    }

    response = client.post("/admin/formats/repository/add/", data=form)

    assert response.status_code == 200
    assert "Enter a valid JSON." in response.content.decode()
    assert Repository.objects.filter(name="deep").exists() is False
