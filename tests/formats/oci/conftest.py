import pytest

from access.models import Role
from tests.factories import RepositoryFactory
from tests.formats.oci.helpers import basic
from tests.formats.oci.upstream import scripted_upstream  # noqa: F401 (fixture)


@pytest.fixture
def oci_repository(db):
    return RepositoryFactory(name="oci", format="oci")


@pytest.fixture
def writer(oci_repository, make_user):
    return make_user(oci_repository, Role.DELETE)


@pytest.fixture
def auth(writer) -> dict[str, str]:
    """Basic credentials of a user who may pull, push and delete in ``oci``."""
    return basic(writer)
