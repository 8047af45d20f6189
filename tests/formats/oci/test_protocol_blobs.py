import hashlib
import os

import pytest

from access.models import Role
from audit.models import Action, AuditEvent
from formats.oci.models import OciBlobLink
from storage.models import Blob, Upload
from tests.factories import RepositoryFactory
from tests.formats.oci.helpers import basic, digest, push_blob

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

NAME = "oci/team/app"
OCTET = "application/octet-stream"


def _error_code(response) -> str:
    return response.json()["errors"][0]["code"]


def _start(client, auth, name=NAME):
    response = client.post(f"/v2/{name}/blobs/uploads/", headers=auth)
    assert response.status_code == 202
    return response


def test_monolithic_upload_then_get_head_and_range(client, auth):
    data = os.urandom(10_000)
    value = digest(data)
    response = client.post(
        f"/v2/{NAME}/blobs/uploads/?digest={value}", data=data, content_type=OCTET, headers=auth
    )
    assert response.status_code == 201
    assert response["Location"] == f"http://testserver/v2/{NAME}/blobs/{value}"
    assert response["Docker-Content-Digest"] == value

    get = client.get(f"/v2/{NAME}/blobs/{value}", headers=auth)
    assert get.status_code == 200
    assert b"".join(get.streaming_content) == data
    assert get["Docker-Content-Digest"] == value
    assert get["Content-Length"] == "10000"

    head = client.head(f"/v2/{NAME}/blobs/{value}", headers=auth)
    assert (head.status_code, head["Content-Length"], head.content) == (200, "10000", b"")

    part = client.get(f"/v2/{NAME}/blobs/{value}", headers={**auth, "Range": "bytes=10-19"})
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == data[10:20]
    assert part["Content-Range"] == "bytes 10-19/10000"

    beyond = client.get(f"/v2/{NAME}/blobs/{value}", headers={**auth, "Range": "bytes=20000-"})
    assert (beyond.status_code, beyond["Content-Range"]) == (416, "bytes */10000")


def test_monolithic_upload_with_wrong_digest_stores_nothing(client, auth):
    response = client.post(
        f"/v2/{NAME}/blobs/uploads/?digest=sha256:{'0' * 64}",
        data=b"hello",
        content_type=OCTET,
        headers=auth,
    )
    assert response.status_code == 400
    assert _error_code(response) == "DIGEST_INVALID"
    assert Blob.objects.exists() is False
    assert OciBlobLink.objects.exists() is False


@pytest.mark.parametrize(
    ("_case", "value"),
    [
        ("unknown algorithm", "md5:" + "0" * 32),
        ("short hex", "sha256:abc"),
        ("uppercase hex", "sha256:" + "A" * 64),
        ("no algorithm", "0" * 64),
    ],
)
def test_malformed_digests_are_digest_invalid(client, auth, _case, value):
    post = client.post(
        f"/v2/{NAME}/blobs/uploads/?digest={value}", data=b"x", content_type=OCTET, headers=auth
    )
    get = client.get(f"/v2/{NAME}/blobs/{value}", headers=auth)
    assert (post.status_code, _error_code(post)) == (400, "DIGEST_INVALID")
    assert (get.status_code, _error_code(get)) == (400, "DIGEST_INVALID")
    assert Blob.objects.exists() is False


def test_sha512_monolithic_upload_and_get(client, auth):
    data = b"sha512 content"
    value = digest(data, "sha512")
    response = client.post(
        f"/v2/{NAME}/blobs/uploads/?digest={value}", data=data, content_type=OCTET, headers=auth
    )
    assert response.status_code == 201
    assert response["Docker-Content-Digest"] == value
    get = client.get(f"/v2/{NAME}/blobs/{value}", headers=auth)
    assert (get.status_code, b"".join(get.streaming_content)) == (200, data)
    assert get["Docker-Content-Digest"] == value


def test_chunked_upload_with_status_and_final_chunk(client, auth):
    data = os.urandom(3000)
    start = _start(client, auth)
    location = start["Location"]
    upload_id = start["Docker-Upload-UUID"]
    assert location == f"http://testserver/v2/{NAME}/blobs/uploads/{upload_id}"
    assert start["Range"] == "0-0"

    first = client.patch(
        location, data=data[:1000], content_type=OCTET, headers={**auth, "Content-Range": "0-999"}
    )
    assert (first.status_code, first["Range"]) == (202, "0-999")
    # A streamed chunk without Content-Range continues where the upload stands.
    second = client.patch(location, data=data[1000:2000], content_type=OCTET, headers=auth)
    assert (second.status_code, second["Range"]) == (202, "0-1999")

    status = client.get(location, headers=auth)
    assert (status.status_code, status["Range"]) == (204, "0-1999")
    assert status["Docker-Upload-UUID"] == upload_id

    done = client.put(
        f"{location}?digest={digest(data)}",
        data=data[2000:],
        content_type=OCTET,
        headers={**auth, "Content-Range": "2000-2999"},
    )
    assert done.status_code == 201
    assert done["Docker-Content-Digest"] == digest(data)
    get = client.get(f"/v2/{NAME}/blobs/{digest(data)}", headers=auth)
    assert hashlib.sha256(b"".join(get.streaming_content)).hexdigest() == digest(data)[7:]
    assert Upload.objects.exists() is False


def test_out_of_order_chunk_is_416_and_changes_nothing(client, auth):
    location = _start(client, auth)["Location"]
    client.patch(
        location, data=b"a" * 10, content_type=OCTET, headers={**auth, "Content-Range": "0-9"}
    )
    response = client.patch(
        location, data=b"b" * 10, content_type=OCTET, headers={**auth, "Content-Range": "20-29"}
    )
    assert response.status_code == 416
    assert _error_code(response) == "BLOB_UPLOAD_INVALID"
    assert client.get(location, headers=auth)["Range"] == "0-9"


@pytest.mark.parametrize(
    ("_case", "headers", "status", "code"),
    [
        ("malformed Content-Range", {"Content-Range": "ten-twenty"}, 400, "BLOB_UPLOAD_INVALID"),
        ("range end before start", {"Content-Range": "5-1"}, 400, "BLOB_UPLOAD_INVALID"),
        ("length disagrees with range", {"Content-Range": "0-99"}, 400, "SIZE_INVALID"),
    ],
)
def test_bad_chunk_headers_are_refused(client, auth, _case, headers, status, code):
    location = _start(client, auth)["Location"]
    response = client.patch(location, data=b"abc", content_type=OCTET, headers={**auth, **headers})
    assert (response.status_code, _error_code(response)) == (status, code)
    assert Upload.objects.get().size == 0


def test_closing_put_with_wrong_digest_keeps_the_session(client, auth):
    location = _start(client, auth)["Location"]
    client.patch(location, data=b"abc", content_type=OCTET, headers=auth)
    response = client.put(f"{location}?digest={digest(b'xyz')}", headers=auth)
    assert (response.status_code, _error_code(response)) == (400, "DIGEST_INVALID")
    assert Blob.objects.exists() is False
    assert client.get(location, headers=auth)["Range"] == "0-2"


def test_closing_put_without_digest_is_invalid(client, auth):
    location = _start(client, auth)["Location"]
    response = client.put(location, headers=auth)
    assert (response.status_code, _error_code(response)) == (400, "BLOB_UPLOAD_INVALID")


def test_cancelled_and_unknown_uploads_are_blob_upload_unknown(client, auth):
    location = _start(client, auth)["Location"]
    assert client.delete(location, headers=auth).status_code == 204
    for response in (
        client.get(location, headers=auth),
        client.patch(location, data=b"x", content_type=OCTET, headers=auth),
        client.get(f"/v2/{NAME}/blobs/uploads/not-a-uuid", headers=auth),
    ):
        assert (response.status_code, _error_code(response)) == (404, "BLOB_UPLOAD_UNKNOWN")
    assert Upload.objects.exists() is False


def test_a_session_cannot_be_continued_from_another_image(client, auth):
    location = _start(client, auth)["Location"]
    upload_id = location.rsplit("/", 1)[1]
    response = client.patch(
        f"/v2/oci/other/blobs/uploads/{upload_id}", data=b"x", content_type=OCTET, headers=auth
    )
    assert (response.status_code, _error_code(response)) == (404, "BLOB_UPLOAD_UNKNOWN")
    assert Upload.objects.get().size == 0


def test_blob_is_only_readable_where_it_was_pushed(client, auth):
    value = push_blob(client, NAME, b"private layer", auth)
    response = client.get(f"/v2/oci/team/other/blobs/{value}", headers=auth)
    assert (response.status_code, _error_code(response)) == (404, "BLOB_UNKNOWN")


def test_mount_from_a_readable_image_is_201(client, auth):
    value = push_blob(client, NAME, b"shared layer", auth)
    response = client.post(
        f"/v2/oci/team/copy/blobs/uploads/?mount={value}&from={NAME}", headers=auth
    )
    assert response.status_code == 201
    assert response["Location"] == f"http://testserver/v2/oci/team/copy/blobs/{value}"
    assert client.head(f"/v2/oci/team/copy/blobs/{value}", headers=auth).status_code == 200
    assert Upload.objects.exists() is False


@pytest.mark.parametrize(
    ("_case", "query"),
    [
        ("mount without from", "mount={digest}"),
        ("source does not hold the blob", "mount={digest}&from=oci/team/empty"),
        ("source repository unknown", "mount={digest}&from=nowhere/app"),
        ("source name invalid", "mount={digest}&from=UPPER"),
    ],
)
def test_mount_that_cannot_happen_falls_back_to_a_session(client, auth, _case, query):
    value = push_blob(client, NAME, b"layer", auth)
    response = client.post(
        f"/v2/oci/team/copy/blobs/uploads/?{query.format(digest=value)}", headers=auth
    )
    assert response.status_code == 202
    assert Upload.objects.count() == 1
    assert OciBlobLink.objects.filter(package__name="copy").exists() is False


def test_mount_from_an_unreadable_repository_falls_back_to_a_session(
    client, oci_repository, writer, make_user
):
    secret = RepositoryFactory(name="secret", format="oci")
    owner = make_user(secret, Role.WRITE)
    value = push_blob(client, "secret/app", b"secret layer", basic(owner))
    response = client.post(
        f"/v2/oci/team/copy/blobs/uploads/?mount={value}&from=secret/app", headers=basic(writer)
    )
    assert response.status_code == 202
    assert OciBlobLink.objects.filter(package__repository=oci_repository).exists() is False


def test_delete_blob_unlinks_it_from_the_image_only(client, auth):
    value = push_blob(client, NAME, b"to delete", auth)
    push_blob(client, "oci/team/keep", b"to delete", auth)
    assert client.delete(f"/v2/{NAME}/blobs/{value}", headers=auth).status_code == 202
    gone = client.get(f"/v2/{NAME}/blobs/{value}", headers=auth)
    assert (gone.status_code, _error_code(gone)) == (404, "BLOB_UNKNOWN")
    assert client.head(f"/v2/oci/team/keep/blobs/{value}", headers=auth).status_code == 200
    again = client.delete(f"/v2/{NAME}/blobs/{value}", headers=auth)
    assert (again.status_code, _error_code(again)) == (404, "BLOB_UNKNOWN")


def test_unknown_blob_head_has_no_body(client, auth):
    response = client.head(f"/v2/{NAME}/blobs/sha256:{'1' * 64}", headers=auth)
    assert (response.status_code, response.content) == (404, b"")


def test_chunked_upload_closed_with_a_sha512_digest(client, auth):
    data = os.urandom(5000)
    location = _start(client, auth)["Location"]
    client.patch(location, data=data, content_type=OCTET, headers=auth)
    value = digest(data, "sha512")
    done = client.put(f"{location}?digest={value}", headers=auth)
    assert (done.status_code, done["Docker-Content-Digest"]) == (201, value)
    assert Blob.objects.get().sha512 == value.split(":")[1]
    get = client.get(f"/v2/{NAME}/blobs/{value}", headers=auth)
    assert b"".join(get.streaming_content) == data


def test_a_push_a_mount_and_a_delete_of_a_blob_are_audited(client, auth, writer):
    value = push_blob(client, NAME, b"audited layer", auth)
    push_blob(client, NAME, b"audited layer", auth)  # again: nothing changes, nothing recorded
    mounted = client.post(
        f"/v2/oci/team/copy/blobs/uploads/?mount={value}&from={NAME}", headers=auth
    )
    assert mounted.status_code == 201
    assert client.delete(f"/v2/{NAME}/blobs/{value}", headers=auth).status_code == 202

    events = AuditEvent.objects.exclude(action=Action.ROLE_GRANT).order_by("id")
    size = len(b"audited layer")
    assert [(e.action, e.username, e.repository, e.package, e.details) for e in events] == [
        (
            Action.ASSET_UPLOAD,
            writer.username,
            "oci",
            image,
            {"path": f"{image}/blobs/{value}", "digest": value.split(":")[1], "size": size},
        )
        for image in ("team/app", "team/copy")
    ] + [
        (
            Action.ASSET_DELETE,
            writer.username,
            "oci",
            "team/app",
            {"path": f"team/app/blobs/{value}", "digest": value.split(":")[1], "size": size},
        )
    ]
