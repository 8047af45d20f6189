"""What the console's tests share: a signed-in registry administrator."""

import pytest

from tests.factories import UserFactory


@pytest.fixture
def admin(client):
    """The superuser ``root``, signed in to ``client``."""
    user = UserFactory(username="root", is_superuser=True)
    client.force_login(user)
    return user
