import json

import pytest

from formats.models import Asset, Tag, TagEvent, Version
from formats.oci.manifests import (
    EMPTY_DIGEST,
    EMPTY_JSON,
    MIME_DOCKER_MANIFEST_LIST_V2,
    MIME_DOCKER_MANIFEST_V2,
    MIME_OCI_EMPTY,
    MIME_OCI_INDEX,
    MIME_OCI_MANIFEST,
)
from formats.oci.models import OciManifest, OciManifestReference
from tests.formats.oci.helpers import descriptor, digest, image_manifest, push_blob, push_image

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

NAME = "oci/team/app"


def _error_code(response) -> str:
    return response.json()["errors"][0]["code"]


def _put(client, auth, reference, body, content_type=MIME_OCI_MANIFEST, name=NAME):
    return client.put(
        f"/v2/{name}/manifests/{reference}", data=body, content_type=content_type, headers=auth
    )


def _content(response) -> bytes:
    return b"".join(response.streaming_content)


def _status(response) -> int:
    if response.streaming:
        _content(response)  # the test client closes a streamed body's file once it is read
    return response.status_code


def test_put_by_tag_then_get_by_tag_and_digest_returns_the_exact_bytes(client, auth):
    manifest = push_image(client, NAME, "1.0", auth)
    value = digest(manifest)

    by_tag = client.get(f"/v2/{NAME}/manifests/1.0", headers=auth)
    by_digest = client.get(f"/v2/{NAME}/manifests/{value}", headers=auth)
    for response in (by_tag, by_digest):
        assert response.status_code == 200
        assert _content(response) == manifest
        assert response["Content-Type"] == MIME_OCI_MANIFEST
        assert response["Docker-Content-Digest"] == value
    assert by_tag["Cache-Control"] == "no-cache"

    head = client.head(f"/v2/{NAME}/manifests/1.0", headers=auth)
    assert (head.status_code, head["Content-Length"]) == (200, str(len(manifest)))
    assert head["Docker-Content-Digest"] == value

    stored = OciManifest.objects.get()
    assert (stored.digest, stored.version.version, stored.size) == (value, value, len(manifest))
    assert Asset.objects.get().path == f"team/app/manifests/{value}"
    assert sorted(OciManifestReference.objects.values_list("kind", flat=True)) == ["blob", "blob"]


def test_put_response_headers(client, auth):
    config, layer = b"{}", b"layer"
    push_blob(client, NAME, config, auth)
    push_blob(client, NAME, layer, auth)
    body = image_manifest(config, [layer])
    response = _put(client, auth, "v1", body)
    assert response.status_code == 201
    assert response["Location"] == f"http://testserver/v2/{NAME}/manifests/{digest(body)}"
    assert response["Docker-Content-Digest"] == digest(body)
    assert "OCI-Subject" not in response


def test_put_by_digest_must_match_the_bytes(client, auth):
    manifest = push_image(client, NAME, "1.0", auth)
    response = _put(client, auth, f"sha256:{'0' * 64}", manifest)
    assert (response.status_code, _error_code(response)) == (400, "DIGEST_INVALID")
    assert OciManifest.objects.count() == 1


def test_put_by_sha512_digest(client, auth):
    config, layer = b'{"a":1}', b"layer"
    push_blob(client, NAME, config, auth)
    push_blob(client, NAME, layer, auth)
    body = image_manifest(config, [layer])
    value = digest(body, "sha512")
    assert _put(client, auth, value, body).status_code == 201
    response = client.get(f"/v2/{NAME}/manifests/{value}", headers=auth)
    assert (response.status_code, _content(response)) == (200, body)
    assert response["Docker-Content-Digest"] == value


def test_manifest_referencing_an_unknown_blob_is_refused(client, auth):
    config = b"{}"
    push_blob(client, NAME, config, auth)
    body = image_manifest(config, [b"never pushed"])
    response = _put(client, auth, "1.0", body)
    assert (response.status_code, _error_code(response)) == (400, "MANIFEST_BLOB_UNKNOWN")
    assert response.json()["errors"][0]["detail"]["digest"] == digest(b"never pushed")
    assert (OciManifest.objects.exists(), Version.objects.exists(), Tag.objects.exists()) == (
        False,
        False,
        False,
    )


def test_blob_of_another_image_does_not_count(client, auth):
    push_blob(client, "oci/team/other", b'{"a":2}', auth)
    push_blob(client, NAME, b"layer", auth)
    response = _put(client, auth, "1.0", image_manifest(b'{"a":2}', [b"layer"]))
    assert (response.status_code, _error_code(response)) == (400, "MANIFEST_BLOB_UNKNOWN")


@pytest.mark.parametrize(
    ("_case", "body", "content_type"),
    [
        ("not JSON", b"{not json", MIME_OCI_MANIFEST),
        ("a JSON array", b"[]", MIME_OCI_MANIFEST),
        ("schemaVersion 1", b'{"schemaVersion":1}', MIME_OCI_MANIFEST),
        ("unknown media type", b'{"schemaVersion":2,"config":{}}', "text/plain"),
        ("config missing", b'{"schemaVersion":2,"layers":[]}', MIME_OCI_MANIFEST),
        (
            "bad descriptor",
            b'{"schemaVersion":2,"config":{"digest":5},"layers":[]}',
            MIME_OCI_MANIFEST,
        ),
        ("binary garbage", bytes(range(256)), MIME_OCI_MANIFEST),
        ("empty body", b"", MIME_OCI_MANIFEST),
        (
            "media type disagrees with Content-Type",
            json.dumps({"schemaVersion": 2, "mediaType": MIME_OCI_INDEX, "manifests": []}).encode(),
            MIME_OCI_MANIFEST,
        ),
    ],
)
def test_malformed_manifests_are_manifest_invalid(client, auth, _case, body, content_type):
    response = _put(client, auth, "1.0", body, content_type=content_type)
    assert (response.status_code, _error_code(response)) == (400, "MANIFEST_INVALID")
    assert OciManifest.objects.exists() is False


def test_oversized_manifest_is_refused(client, auth):
    response = _put(client, auth, "1.0", b" " * (4 * 1024 * 1024 + 1))
    assert (response.status_code, _error_code(response)) == (413, "SIZE_INVALID")
    assert OciManifest.objects.exists() is False


@pytest.mark.parametrize(
    ("_case", "reference", "code"),
    [
        ("tag with a bad character", "bad!tag", "TAG_INVALID"),
        ("tag starting with a dot", ".hidden", "TAG_INVALID"),
        ("digest with a bad algorithm", "md5:abc", "DIGEST_INVALID"),
    ],
)
def test_invalid_references(client, auth, _case, reference, code):
    response = _put(client, auth, reference, image_manifest(b"{}", []))
    get = client.get(f"/v2/{NAME}/manifests/{reference}", headers=auth)
    assert (response.status_code, _error_code(response)) == (400, code)
    assert (get.status_code, _error_code(get)) == (400, code)


@pytest.mark.parametrize(
    ("_case", "name", "status", "code"),
    [
        ("uppercase", "oci/Team/app", 400, "NAME_INVALID"),
        ("no image below the repository", "oci", 400, "NAME_INVALID"),
        ("double slash", "oci//app", 400, "NAME_INVALID"),
        ("unknown repository", "nowhere/app", 404, "NAME_UNKNOWN"),
    ],
)
def test_names(client, auth, _case, name, status, code):
    response = client.get(f"/v2/{name}/manifests/latest", headers=auth)
    assert (response.status_code, _error_code(response)) == (status, code)


def test_raw_repository_is_not_an_oci_name(client, auth):
    from tests.factories import RepositoryFactory

    RepositoryFactory(name="files", format="raw")
    response = client.get("/v2/files/app/tags/list", headers=auth)
    assert (response.status_code, _error_code(response)) == (404, "NAME_UNKNOWN")


def test_unknown_manifest(client, auth):
    push_image(client, NAME, "1.0", auth)
    for reference in ("2.0", f"sha256:{'2' * 64}"):
        response = client.get(f"/v2/{NAME}/manifests/{reference}", headers=auth)
        assert (response.status_code, _error_code(response)) == (404, "MANIFEST_UNKNOWN")
        head = client.head(f"/v2/{NAME}/manifests/{reference}", headers=auth)
        assert (head.status_code, head.content) == (404, b"")


@pytest.mark.parametrize(
    ("_case", "accept", "status"),
    [
        ("no Accept", None, 200),
        ("exact type", MIME_OCI_MANIFEST, 200),
        (
            "several types with parameters",
            f"{MIME_DOCKER_MANIFEST_V2}, {MIME_OCI_MANIFEST};q=0.9",
            200,
        ),
        ("wildcard", "*/*", 200),
        ("only Docker types", MIME_DOCKER_MANIFEST_V2, 404),
        ("empty Accept", " ", 200),
        (
            "skopeo's list, no q",
            f"{MIME_OCI_MANIFEST}, {MIME_OCI_INDEX}, {MIME_DOCKER_MANIFEST_V2}, "
            f"{MIME_DOCKER_MANIFEST_LIST_V2}",
            200,
        ),
        ("the type refused with q=0", f"{MIME_OCI_MANIFEST};q=0", 404),
        ("refused with q=0 beside a wildcard", f"*/*, {MIME_OCI_MANIFEST};q=0", 404),
        ("wildcard refused, the type named", f"*/*;q=0, {MIME_OCI_MANIFEST}", 200),
    ],
)
def test_accept_negotiation(client, auth, _case, accept, status):
    push_image(client, NAME, "1.0", auth)
    headers = {**auth, "Accept": accept} if accept else auth
    assert _status(client.get(f"/v2/{NAME}/manifests/1.0", headers=headers)) == status


def test_retagging_records_history(client, auth, writer):
    first = push_image(client, NAME, "latest", auth, seed=b"1")
    second = push_image(client, NAME, "latest", auth, seed=b"2")
    response = client.get(f"/v2/{NAME}/manifests/latest", headers=auth)
    assert _content(response) == second
    events = list(
        TagEvent.objects.order_by("id").values_list("action", "from_version", "to_version", "actor")
    )
    assert events == [
        ("set", "", digest(first), writer.pk),
        ("move", digest(first), digest(second), writer.pk),
    ]
    # The old manifest is still there by digest.
    assert _status(client.get(f"/v2/{NAME}/manifests/{digest(first)}", headers=auth)) == 200


def test_immutable_tags_refuse_a_move_except_the_exceptions(client, auth, oci_repository):
    oci_repository.immutable_tags = True
    oci_repository.immutable_tag_exceptions = "latest,dev-*"
    oci_repository.save()
    first = push_image(client, NAME, "1.0", auth, seed=b"1")
    config, layer = b'{"seed":"2"}', b"layer-2"
    push_blob(client, NAME, config, auth)
    push_blob(client, NAME, layer, auth)
    second = image_manifest(config, [layer])

    refused = _put(client, auth, "1.0", second)
    assert (refused.status_code, _error_code(refused)) == (400, "TAG_INVALID")
    assert refused.json()["errors"][0]["message"] == "tag '1.0' is immutable in this repository"
    assert _content(client.get(f"/v2/{NAME}/manifests/1.0", headers=auth)) == first
    assert TagEvent.objects.count() == 1

    assert _put(client, auth, "1.0", first).status_code == 201  # same digest: not a move
    for tag in ("latest", "dev-x"):
        push_image(client, NAME, tag, auth, seed=b"1")
        assert _put(client, auth, tag, second).status_code == 201


def test_immutable_tags_cannot_be_deleted_and_pushed_again(client, auth, oci_repository):
    oci_repository.immutable_tags = True
    oci_repository.immutable_tag_exceptions = "latest"
    oci_repository.save()
    first = push_image(client, NAME, "1.0", auth, seed=b"1")
    _put(client, auth, "latest", first)
    events = TagEvent.objects.count()

    # Distribution-spec: "If tag deletion is disabled, the registry MUST respond with either a
    # 400 Bad Request or a 405 Method Not Allowed"; deleting by digest would take the tag along.
    for reference in ("1.0", digest(first)):
        refused = client.delete(f"/v2/{NAME}/manifests/{reference}", headers=auth)
        assert (refused.status_code, refused.json()["errors"][0]) == (
            400,
            {
                "code": "TAG_INVALID",
                "message": "tag '1.0' is immutable in this repository",
                "detail": {"tag": "1.0"},
            },
        )
    second = push_image(client, NAME, "latest", auth, seed=b"2")
    assert _put(client, auth, "1.0", second).status_code == 400
    assert _content(client.get(f"/v2/{NAME}/manifests/1.0", headers=auth)) == first
    assert TagEvent.objects.count() == events + 1  # only latest moved

    assert client.delete(f"/v2/{NAME}/manifests/latest", headers=auth).status_code == 202
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["1.0"]


def test_an_index_refused_with_q_0_is_not_served(client, auth):
    # RFC 9110 12.5.1: q=0 means "not acceptable"; the spec answers a manifest the client
    # cannot take with MANIFEST_UNKNOWN rather than bytes it would misparse.
    child = push_image(client, NAME, "amd64", auth)
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MIME_OCI_INDEX,
            "manifests": [descriptor(MIME_OCI_MANIFEST, child)],
        }
    ).encode()
    assert _put(client, auth, "multi", index, content_type=MIME_OCI_INDEX).status_code == 201
    accept = f"{MIME_OCI_MANIFEST}, {MIME_OCI_INDEX};q=0"
    refused = client.get(f"/v2/{NAME}/manifests/multi", headers={**auth, "Accept": accept})
    assert (refused.status_code, _error_code(refused)) == (404, "MANIFEST_UNKNOWN")
    assert refused.json()["errors"][0]["message"] == (
        f"manifest is {MIME_OCI_INDEX}, which the Accept header excludes"
    )
    served = client.get(f"/v2/{NAME}/manifests/multi", headers={**auth, "Accept": MIME_OCI_INDEX})
    assert (_content(served), served["Content-Type"]) == (index, MIME_OCI_INDEX)


def test_index_children_must_exist(client, auth):
    child = push_image(client, NAME, "amd64", auth)
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MIME_OCI_INDEX,
            "manifests": [
                descriptor(
                    MIME_OCI_MANIFEST, child, platform={"architecture": "amd64", "os": "linux"}
                ),
                descriptor(MIME_OCI_MANIFEST, b"missing child"),
            ],
        }
    ).encode()
    refused = _put(client, auth, "multi", index, content_type=MIME_OCI_INDEX)
    assert (refused.status_code, _error_code(refused)) == (400, "MANIFEST_BLOB_UNKNOWN")
    assert refused.json()["errors"][0]["detail"]["digest"] == digest(b"missing child")

    good = json.loads(index)
    good["manifests"].pop()
    body = json.dumps(good).encode()
    assert _put(client, auth, "multi", body, content_type=MIME_OCI_INDEX).status_code == 201
    response = client.get(f"/v2/{NAME}/manifests/multi", headers=auth)
    assert (_content(response), response["Content-Type"]) == (body, MIME_OCI_INDEX)
    reference = OciManifestReference.objects.get(manifest__digest=digest(body))
    assert (reference.kind, reference.digest) == ("manifest", digest(child))


def test_delete_by_tag_keeps_the_manifest_and_by_digest_removes_it(client, auth):
    manifest = push_image(client, NAME, "1.0", auth)
    client.put(
        f"/v2/{NAME}/manifests/stable", data=manifest, content_type=MIME_OCI_MANIFEST, headers=auth
    )
    assert client.delete(f"/v2/{NAME}/manifests/stable", headers=auth).status_code == 202
    assert _status(client.get(f"/v2/{NAME}/manifests/stable", headers=auth)) == 404
    assert _status(client.get(f"/v2/{NAME}/manifests/1.0", headers=auth)) == 200

    assert (
        client.delete(f"/v2/{NAME}/manifests/{digest(manifest)}", headers=auth).status_code == 202
    )
    for reference in ("1.0", digest(manifest)):
        response = client.get(f"/v2/{NAME}/manifests/{reference}", headers=auth)
        assert (response.status_code, _error_code(response)) == (404, "MANIFEST_UNKNOWN")
    assert (OciManifest.objects.exists(), Asset.objects.exists(), Tag.objects.exists()) == (
        False,
        False,
        False,
    )
    assert list(TagEvent.objects.order_by("id").values_list("tag", "action")) == [
        ("1.0", "set"),
        ("stable", "set"),
        ("stable", "delete"),
        ("1.0", "delete"),
    ]
    again = client.delete(f"/v2/{NAME}/manifests/{digest(manifest)}", headers=auth)
    assert (again.status_code, _error_code(again)) == (404, "MANIFEST_UNKNOWN")


def test_tags_list_pagination(client, auth):
    manifest = push_image(client, NAME, "b", auth)
    for tag in ("a", "d", "c"):
        _put(client, auth, tag, manifest)
    full = client.get(f"/v2/{NAME}/tags/list", headers=auth)
    assert full.json() == {"name": NAME, "tags": ["a", "b", "c", "d"]}
    assert "Link" not in full

    first = client.get(f"/v2/{NAME}/tags/list?n=2", headers=auth)
    assert first.json()["tags"] == ["a", "b"]
    assert first["Link"] == f'</v2/{NAME}/tags/list?n=2&last=b>; rel="next"'
    second = client.get(f"/v2/{NAME}/tags/list?n=2&last=b", headers=auth)
    assert second.json()["tags"] == ["c", "d"]
    assert "Link" not in second
    assert client.get(f"/v2/{NAME}/tags/list?n=0", headers=auth).json()["tags"] == []
    bad = client.get(f"/v2/{NAME}/tags/list?n=-1", headers=auth)
    assert (bad.status_code, _error_code(bad)) == (400, "PAGINATION_NUMBER_INVALID")


def test_tags_list_of_an_unknown_image_is_name_unknown(client, auth):
    response = client.get(f"/v2/{NAME}/tags/list", headers=auth)
    assert (response.status_code, _error_code(response)) == (404, "NAME_UNKNOWN")


def _artifact(client, auth, subject: bytes, artifact_type: str, annotation: str) -> bytes:
    layer = f"signature {annotation}".encode()
    push_blob(client, NAME, EMPTY_JSON, auth)
    push_blob(client, NAME, layer, auth)
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MIME_OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": descriptor(MIME_OCI_EMPTY, EMPTY_JSON),
            "layers": [descriptor("application/octet-stream", layer)],
            "subject": descriptor(MIME_OCI_MANIFEST, subject),
            "annotations": {"note": annotation},
        }
    ).encode()
    response = _put(client, auth, digest(body), body)
    assert response.status_code == 201
    assert response["OCI-Subject"] == digest(subject)
    return body


def test_referrers_list_and_filter(client, auth):
    subject = push_image(client, NAME, "1.0", auth)
    sbom = _artifact(client, auth, subject, "application/vnd.example.sbom", "s")
    signature = _artifact(client, auth, subject, "application/vnd.example.sig", "g")

    response = client.get(f"/v2/{NAME}/referrers/{digest(subject)}", headers=auth)
    assert response.status_code == 200
    assert response["Content-Type"] == MIME_OCI_INDEX
    assert "OCI-Filters-Applied" not in response
    expected = {
        digest(sbom): ("application/vnd.example.sbom", {"note": "s"}, len(sbom)),
        digest(signature): ("application/vnd.example.sig", {"note": "g"}, len(signature)),
    }
    body = response.json()
    assert (body["schemaVersion"], body["mediaType"]) == (2, MIME_OCI_INDEX)
    assert {
        m["digest"]: (m["artifactType"], m["annotations"], m["size"]) for m in body["manifests"]
    } == expected
    assert {m["mediaType"] for m in body["manifests"]} == {MIME_OCI_MANIFEST}

    filtered = client.get(
        f"/v2/{NAME}/referrers/{digest(subject)}?artifactType=application/vnd.example.sig",
        headers=auth,
    )
    assert filtered["OCI-Filters-Applied"] == "artifactType"
    assert [m["digest"] for m in filtered.json()["manifests"]] == [digest(signature)]


def test_referrers_of_an_unknown_subject_is_an_empty_index(client, auth):
    push_image(client, NAME, "1.0", auth)
    response = client.get(f"/v2/{NAME}/referrers/sha256:{'3' * 64}", headers=auth)
    assert (response.status_code, response.json()["manifests"]) == (200, [])
    bad = client.get(f"/v2/{NAME}/referrers/sha256:xyz", headers=auth)
    assert (bad.status_code, _error_code(bad)) == (400, "DIGEST_INVALID")


def test_a_subject_need_not_exist_and_the_empty_config_need_not_be_pushed(client, auth):
    layer = b"payload"
    push_blob(client, NAME, layer, auth)
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MIME_OCI_MANIFEST,
            "artifactType": "application/vnd.example",
            "config": descriptor(MIME_OCI_EMPTY, EMPTY_JSON),
            "layers": [descriptor("application/octet-stream", layer)],
            "subject": {"mediaType": MIME_OCI_MANIFEST, "digest": f"sha256:{'4' * 64}", "size": 9},
        }
    ).encode()
    response = _put(client, auth, "art", body)
    assert response.status_code == 201
    assert client.head(f"/v2/{NAME}/blobs/{EMPTY_DIGEST}", headers=auth).status_code == 200
    referrers = client.get(f"/v2/{NAME}/referrers/sha256:{'4' * 64}", headers=auth).json()
    assert [m["digest"] for m in referrers["manifests"]] == [digest(body)]


def test_unsupported_method(client, auth):
    response = client.post(f"/v2/{NAME}/manifests/1.0", headers=auth)
    assert (response.status_code, _error_code(response)) == (405, "UNSUPPORTED")


def test_put_by_digest_with_tag_parameters_sets_every_tag(client, auth):
    manifest = push_image(client, NAME, "1.0", auth)
    value = digest(manifest)
    response = _put(client, auth, f"{value}?tag=1.0&tag=1&tag=latest&tag=1", manifest)
    assert response.status_code == 201
    assert response["OCI-Tag"] == "1.0, 1, latest"
    tags = Tag.objects.filter(version__version=value).order_by("name")
    assert list(tags.values_list("name", flat=True)) == ["1", "1.0", "latest"]
    assert _content(client.get(f"/v2/{NAME}/manifests/latest", headers=auth)) == manifest


def test_put_without_tag_parameters_has_no_oci_tag_header(client, auth):
    manifest = push_image(client, NAME, "1.0", auth)
    response = _put(client, auth, digest(manifest), manifest)
    assert response.status_code == 201
    assert response.has_header("OCI-Tag") is False


def test_invalid_tag_parameter_stores_nothing(client, auth):
    config, layer = b'{"seed":"t"}', b"layer-t"
    push_blob(client, NAME, config, auth)
    push_blob(client, NAME, layer, auth)
    manifest = image_manifest(config, [layer])
    response = _put(client, auth, f"{digest(manifest)}?tag=ok&tag=-bad", manifest)
    assert (response.status_code, _error_code(response)) == (400, "TAG_INVALID")
    assert OciManifest.objects.exists() is False
    assert Tag.objects.exists() is False


def test_tag_parameters_move_together_or_not_at_all(client, auth, oci_repository):
    oci_repository.immutable_tags = True
    oci_repository.immutable_tag_exceptions = "latest"
    oci_repository.save()
    first = push_image(client, NAME, "1.0", auth, seed=b"1")
    config, layer = b'{"seed":"2"}', b"layer-2"
    push_blob(client, NAME, config, auth)
    push_blob(client, NAME, layer, auth)
    second = image_manifest(config, [layer])

    refused = _put(client, auth, f"{digest(second)}?tag=latest&tag=1.0", second)
    assert (refused.status_code, _error_code(refused)) == (400, "TAG_INVALID")
    assert list(Tag.objects.values_list("name", "version__version")) == [("1.0", digest(first))]
    assert list(OciManifest.objects.values_list("digest", flat=True)) == [digest(first)]
    assert TagEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("_case", "name", "reference"),
    [
        ("tag of an image never pushed", "oci/team/never", "1.0"),
        ("digest of an image never pushed", "oci/team/never", f"sha256:{'3' * 64}"),
        ("digest of another image", "oci/team/other", None),
    ],
)
def test_unknown_manifest_of_an_image(client, auth, _case, name, reference):
    manifest = push_image(client, NAME, "1.0", auth)
    push_image(client, "oci/team/other", "1.0", auth, seed=b"other")
    response = client.get(f"/v2/{name}/manifests/{reference or digest(manifest)}", headers=auth)
    assert (response.status_code, _error_code(response)) == (404, "MANIFEST_UNKNOWN")


def test_anonymous_pull_from_a_public_repository_is_one_query(
    client, auth, oci_repository, django_assert_num_queries
):
    oci_repository.anonymous_read = True
    oci_repository.save()
    manifest = push_image(client, NAME, "1.0", auth)
    for reference in ("1.0", digest(manifest)):
        with django_assert_num_queries(1):
            response = client.get(f"/v2/{NAME}/manifests/{reference}")
        assert (response.status_code, _content(response)) == (200, manifest)
        assert response["Content-Length"] == str(len(manifest))


def test_manifest_lookup_builds_the_repository_as_the_orm_would(db):
    from datetime import datetime

    from formats.oci.selectors import oci_manifest_lookup
    from tests.factories import RepositoryFactory

    RepositoryFactory(name="typed", format="oci", config={"policy": "keep"}, anonymous_read=True)
    lookup = oci_manifest_lookup(name="typed/app", reference="latest")
    assert lookup.content is None
    assert lookup.image.repository.config == {"policy": "keep"}
    assert lookup.image.repository.anonymous_read is True
    assert isinstance(lookup.image.repository.created, datetime)
