"""Schemathesis over ``/api/schema/``: whatever it sends, the API never answers a 5xx.

Runs every operation of the management API through the WSGI application (in process, on the
test database), as a superuser and as a read-only token scoped to one repository, with a small
fixed number of derandomized examples per operation so the run is bounded and repeatable.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.config import SchemathesisConfig

from access.models import ApiToken, Role
from access.services import role_grant, token_create
from registry_project.wsgi import application
from tests.factories import PackageFactory, RepositoryFactory, UserFactory, VersionFactory

EXAMPLES_PER_OPERATION = 5
# What the API promises: no 5xx, and every answer (errors included, through the documented
# ``default`` response) has the declared status, media type, headers and body shape. Left out:
# positive_data_acceptance and negative_data_rejection (DRF's own leniency, e.g. "0" read as
# false from a form, and business rules such as unique names, are not expressible in the
# schema) and ignored_auth (anonymous callers may read public repositories by design).
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def in_process(db):
    """Keep the test's database connection open across requests, as Django's test client does
    (the WSGI handler would close it at the end of every request)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=["superuser", "restricted token"])
def caller(request, in_process) -> dict[str, str]:
    repository = RepositoryFactory(name="fuzz", format="raw")
    VersionFactory(package=PackageFactory(repository=repository, name="lib"), version="1.0.0")
    RepositoryFactory(name="private", format="npm")
    if request.param == "superuser":
        secret = token_create(user=UserFactory(username="root", is_superuser=True)).secret
    else:
        user = UserFactory(username="limited")
        role_grant(repository=repository, role=Role.ADMIN, user=user)
        secret = token_create(user=user, repositories=[repository], read_only=True).secret
    return {"Authorization": f"Bearer {secret}"}


# Generating the schema needs no database, so it is loaded at import (schemathesis's
# fixture-loaded variant does not run on pytest 9: it sets Function._nodeid, which pytest 9 no
# longer has). The coverage phase (every boundary value of every field, and every unexpected
# method) takes minutes on this machine; fuzzing with valid and invalid data stays bounded.
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json",
    application,
    config=SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}}),
)


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error(case, caller):
    # A generated DELETE /tokens/{id}/ may revoke the caller's own token: undo it, so every
    # example is made with a working credential.
    ApiToken.objects.update(revoked_at=None)
    case.call_and_validate(headers=caller, checks=CHECKS)
