"""factory_boy factories for the shared model."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from access.models import RepositoryRole
from formats.base import SearchTerms
from formats.models import Package, Repository, Version
from formats.services import package_search_refresh, package_search_text

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group

    name = factory.Sequence(lambda n: f"group{n}")


class RepositoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Repository

    name = factory.Sequence(lambda n: f"repo{n}")
    format = "raw"


class PackageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Package

    repository = factory.SubFactory(RepositoryFactory)
    name = factory.Sequence(lambda n: f"package{n}")
    normalized_name = factory.LazyAttribute(lambda o: o.name.lower())
    # As package_ensure leaves a package before its first version.
    search_text = factory.LazyAttribute(
        lambda o: package_search_text(
            name=o.name, normalized_name=o.normalized_name, terms=SearchTerms()
        )
    )


class VersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Version
        skip_postgeneration_save = True

    package = factory.SubFactory(PackageFactory)
    version = factory.Sequence(lambda n: f"1.0.{n}")

    @factory.post_generation
    def searched(self, create, extracted, **kwargs):
        """What version_create does after the row: the package's search columns follow."""
        if create:
            package_search_refresh(package=self.package)


class RepositoryRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RepositoryRole

    repository = factory.SubFactory(RepositoryFactory)
    user = factory.SubFactory(UserFactory)
    role = RepositoryRole._meta.get_field("role").choices[0][0]
