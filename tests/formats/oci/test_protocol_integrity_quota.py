"""OCI answers a blob fsck marked, and a push past the quota, in the spec's error envelope."""

import os

import pytest
from django.utils import timezone

from formats.oci.models import OciBlobLink
from storage.models import Blob
from tests.formats.oci.helpers import digest

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

NAME = "oci/team/app"
OCTET = "application/octet-stream"


def _push(client, auth, data: bytes):
    return client.post(
        f"/v2/{NAME}/blobs/uploads/?digest={digest(data)}",
        data=data,
        content_type=OCTET,
        headers=auth,
    )


def test_a_blob_marked_corrupt_is_an_error_not_bytes(client, auth):
    data = os.urandom(1000)
    assert _push(client, auth, data).status_code == 201
    Blob.objects.filter(pk=digest(data).partition(":")[2]).update(corrupt=timezone.now())

    for method in (client.get, client.head):
        refused = method(f"/v2/{NAME}/blobs/{digest(data)}", headers=auth)
        assert refused.status_code == 500
    error = client.get(f"/v2/{NAME}/blobs/{digest(data)}", headers=auth).json()["errors"][0]
    assert error["code"] == "BLOB_CORRUPT"
    assert "integrity check" in error["message"]


def test_a_layer_past_the_quota_is_denied_and_not_linked(client, auth, oci_repository):
    oci_repository.quota_bytes = 1500
    oci_repository.save()
    assert _push(client, auth, os.urandom(1000)).status_code == 201

    refused = _push(client, auth, os.urandom(1000))

    assert refused.status_code == 413
    error = refused.json()["errors"][0]
    assert error["code"] == "DENIED"
    assert error["message"].startswith("repository 'oci' is over its quota of 1.5 KiB")
    assert error["detail"]["reason"] == "QUOTA_EXCEEDED"
    assert OciBlobLink.objects.count() == 1
