"""The sign-in lockout on the production shape: gunicorn with several worker processes."""

import pytest
import requests

from tests.factories import PASSWORD, RepositoryFactory, UserFactory

pytestmark = pytest.mark.e2e


def test_every_web_process_shares_the_lockout(live_registry, settings):
    files = RepositoryFactory(name="shared-files", format="raw", anonymous_read=True)
    UserFactory(username="erin")
    url = f"{live_registry.url}/repository/{files.name}/missing.txt"
    # A new connection per request: gunicorn's workers take turns accepting them.
    statuses = [
        requests.get(url, auth=("erin", "wrong"), timeout=30).status_code
        for _ in range(settings.SIGN_IN_FAILURE_LIMIT_USER)
    ]

    locked = [requests.get(url, auth=("erin", PASSWORD), timeout=30) for _ in range(4)]

    assert statuses == [401] * settings.SIGN_IN_FAILURE_LIMIT_USER
    assert [response.status_code for response in locked] == [429] * 4
    assert locked[0].json()["error"].startswith("too many failed sign-in attempts; retry in ")
