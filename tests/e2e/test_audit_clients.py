"""The audit log of what real clients did: curl's uploads, deletes and wrong passwords,
npm's publish, dist-tag, deprecate and unpublish, skopeo's layers (pushed and mounted); read as
an admin through the API."""

import json
import os
import subprocess

import pytest
import requests

from access.models import Role
from access.services import role_grant, token_create
from audit.models import Action
from tests.e2e.test_npm_cli import Npm, _project
from tests.factories import PASSWORD, RepositoryFactory, UserFactory
from tests.formats.oci.clients import Skopeo, image_layout
from tests.live import require_client

pytestmark = pytest.mark.e2e


def _events(registry, **filters: str) -> list[dict]:
    UserFactory(username="auditor", is_superuser=True)
    response = requests.get(
        f"{registry.url}/api/v1/audit-events/",
        params=filters,
        auth=("auditor", PASSWORD),
        timeout=60,
    )
    assert response.status_code == 200, response.text
    # Oldest first, without the setup's own grants.
    events = reversed(response.json()["results"])
    return [event for event in events if event["action"] != Action.ROLE_GRANT]


def test_curl_upload_delete_and_a_wrong_password(live_registry, tmp_path):
    curl = require_client("curl")
    repository = RepositoryFactory(name="audited-raw", format="raw")
    user = UserFactory(username="carl")
    role_grant(repository=repository, role=Role.DELETE, user=user)
    issued = token_create(user=user, name="ci")
    payload = tmp_path / "a.txt"
    payload.write_bytes(b"audited\n")
    url = f"{live_registry.url}/repository/audited-raw/dir/a.txt"

    def run(*args: str) -> str:
        result = subprocess.run(
            [curl, "--silent", "-o", os.devnull, "--write-out", "%{http_code}", *args, url],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        return result.stdout

    assert run("-u", f"carl:{issued.secret}", "-T", str(payload)) == "201"
    assert run("-u", f"carl:{issued.secret}", "-X", "DELETE") in ("200", "204")
    assert run("-u", "carl:not-the-password") == "401"

    upload, delete = _events(live_registry, repository="audited-raw")
    assert (upload["action"], delete["action"]) == (Action.ASSET_UPLOAD, Action.ASSET_DELETE)
    for event in (upload, delete):
        assert (event["username"], event["token_id"]) == ("carl", issued.token.pk)
        assert event["address"] == "127.0.0.1"
        assert event["details"]["path"] == "dir/a.txt"
    (failed,) = _events(live_registry, action=Action.LOGIN_FAILED, user="carl")
    assert (failed["address"], failed["token_id"]) == ("127.0.0.1", None)


def test_npm_publish_tags_deprecate_and_unpublish(live_registry, tmp_path):
    repository = RepositoryFactory(name="audited-npm", format="npm")
    user = UserFactory(username="nora")
    role_grant(repository=repository, role=Role.DELETE, user=user)
    token = token_create(user=user).secret
    run = Npm(
        require_client("npm"), tmp_path, f"{live_registry.url}/repository/audited-npm/", token
    )

    for version in ("1.0.0", "1.1.0"):
        library = _project(
            tmp_path / f"lib-{version}", {"name": "auditlib", "version": version}, {}
        )
        run("publish", cwd=library)
    run("dist-tag", "add", "auditlib@1.0.0", "stable")
    run("dist-tag", "add", "auditlib@1.1.0", "stable")
    run("deprecate", "auditlib@1.0.0", "use 1.1")
    run("deprecate", "auditlib@1.0.0", "")
    run("dist-tag", "rm", "auditlib", "stable")
    run("unpublish", "auditlib@1.0.0")

    events = _events(live_registry, repository="audited-npm")
    seen = [(event["action"], event["version"], event["details"].get("tag")) for event in events]
    assert seen == [
        (Action.VERSION_PUBLISH, "1.0.0", None),
        (Action.ASSET_UPLOAD, "1.0.0", None),
        (Action.TAG_SET, "1.0.0", "latest"),
        (Action.VERSION_PUBLISH, "1.1.0", None),
        (Action.ASSET_UPLOAD, "1.1.0", None),
        (Action.TAG_MOVE, "1.1.0", "latest"),
        (Action.TAG_SET, "1.0.0", "stable"),
        (Action.TAG_MOVE, "1.1.0", "stable"),
        (Action.VERSION_DEPRECATE, "1.0.0", None),
        (Action.VERSION_UNDEPRECATE, "1.0.0", None),
        (Action.TAG_DELETE, "1.1.0", "stable"),
        (Action.VERSION_DELETE, "1.0.0", None),
    ]
    assert {event["username"] for event in events} == {"nora"}
    assert {event["package"] for event in events} == {"auditlib"}


def test_skopeo_pushes_to_two_images_record_every_layer_and_config_of_each(live_registry, tmp_path):
    repository = RepositoryFactory(name="audited-oci", format="oci")
    user = UserFactory(username="olga")
    role_grant(repository=repository, role=Role.WRITE, user=user)
    skopeo = Skopeo(tmp_path / "skopeo")
    layout = image_layout(tmp_path)
    manifest_digest = layout.descriptor("v1")["digest"]
    manifest = json.loads(layout.blob(manifest_digest))
    blobs = {item["digest"] for item in (manifest["config"], *manifest["layers"])}
    for image in ("app", "copy"):  # the second links (mounts or re-sends) the same blobs
        skopeo.push(
            f"oci:{layout.path}:v1",
            f"docker://{live_registry.host}/audited-oci/{image}:1.0",
            creds=f"olga:{PASSWORD}",
        )

    events = _events(live_registry, repository="audited-oci")
    for image in ("app", "copy"):
        uploads = [
            e for e in events if e["action"] == Action.ASSET_UPLOAD and e["package"] == image
        ]
        assert {e["details"]["path"] for e in uploads} == {
            f"{image}/blobs/{digest}" for digest in blobs
        } | {f"{image}/manifests/{manifest_digest}"}
        assert {(e["username"], e["address"]) for e in uploads} == {("olga", "127.0.0.1")}
        published = [
            e for e in events if e["package"] == image and e["action"] == "version.publish"
        ]
        assert [e["version"] for e in published] == [manifest_digest]
