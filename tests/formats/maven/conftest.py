"""Fixtures of the Maven protocol tests: repositories of each policy, a deployer, helpers."""

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.utils import timezone

from access.models import Role
from access.services import role_grant
from tests.factories import PASSWORD, RepositoryFactory

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "maven"
NOW = datetime(2026, 11, 26, 20, 15, 0, tzinfo=UTC)

LAST_UPDATED = datetime(2026, 11, 26, 20, 44, 13, tzinfo=UTC)

# Written by mvn 3.8.7 / maven-deploy-plugin 3.1.1 on its second `mvn deploy` of a SNAPSHOT.
MAVEN_SNAPSHOT_METADATA = b"""\
<?xml version="1.0" encoding="UTF-8"?>
<metadata modelVersion="1.1.0">
  <groupId>com.example</groupId>
  <artifactId>lib</artifactId>
  <versioning>
    <lastUpdated>20261126204413</lastUpdated>
    <snapshot>
      <timestamp>20261126.204413</timestamp>
      <buildNumber>2</buildNumber>
    </snapshot>
    <snapshotVersions>
      <snapshotVersion>
        <extension>pom</extension>
        <value>1.0-20261126.204413-2</value>
        <updated>20261126204413</updated>
      </snapshotVersion>
      <snapshotVersion>
        <extension>jar</extension>
        <value>1.0-20261126.204413-2</value>
        <updated>20261126204413</updated>
      </snapshotVersion>
    </snapshotVersions>
  </versioning>
  <version>1.0-SNAPSHOT</version>
</metadata>
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<project><groupId>&lol3;</groupId><artifactId>a</artifactId><version>1</version></project>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE project [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<project><groupId>&xxe;</groupId><artifactId>a</artifactId><version>1</version></project>"""

DOCTYPE_ONLY = b"""<?xml version="1.0"?><!DOCTYPE project>
<project><groupId>g</groupId><artifactId>a</artifactId><version>1</version></project>"""


def basic(user) -> dict[str, str]:
    """Return the Authorization header of ``user`` (password auth, as mvn sends it)."""
    credentials = base64.b64encode(f"{user.username}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def pom(group_id: str, artifact_id: str, version: str, extra: str = "") -> bytes:
    """Return a minimal POM with the given coordinates."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        f"  <groupId>{group_id}</groupId>\n  <artifactId>{artifact_id}</artifactId>\n"
        f"  <version>{version}</version>\n{extra}</project>\n"
    ).encode()


@pytest.fixture
def golden():
    def read(name: str) -> bytes:
        return (GOLDEN / name).read_bytes()

    return read


@pytest.fixture
def frozen_now(monkeypatch):
    """Pin ``timezone.now`` so lastUpdated in generated metadata is reproducible."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


@pytest.fixture
def releases(db):
    return RepositoryFactory(name="releases", format="maven", config={"version_policy": "release"})


@pytest.fixture
def snapshots(db):
    return RepositoryFactory(
        name="snapshots", format="maven", config={"version_policy": "snapshot"}
    )


@pytest.fixture
def deployer(make_user, releases, snapshots):
    user = make_user(releases, Role.WRITE)
    role_grant(repository=snapshots, role=Role.WRITE, user=user)
    return user


@pytest.fixture
def deploy(client, deployer):
    """PUT ``body`` at ``/repository/<repository>/<path>`` as the deployer."""

    def put(repository, path: str, body: bytes, **headers: str):
        return client.put(
            f"/repository/{repository.name}/{path}",
            data=body,
            content_type="application/octet-stream",
            headers={**basic(deployer), **headers},
        )

    return put
