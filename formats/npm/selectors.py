"""Reads of the npm format: packuments, version documents, dist-tags, search and tokens."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from formats.npm import bodies, metadata, names
from formats.plugin import (
    TOKEN_PREFIX,
    ApiToken,
    Package,
    Repository,
    VersionUnknown,
    hash_token,
    package_get,
)

TOKEN_KEY_SALT = "formats.npm.token-key"


def npm_name_decode(*, segment: str, new_package: bool = False) -> str:
    """Return the package name in a URL segment (``name``, ``@scope/name``, ``@scope%2fname``).

    Raises:
        PackageInvalid: not a valid npm package name.
    """
    return names.decode_name_from_url(segment=segment, new_package=new_package)


def npm_package_get(*, repository: Repository, name: str) -> Package:
    """Return the package ``name`` (scoped names are stored as they are spelled).

    Raises:
        PackageUnknown: no such package.
    """
    return package_get(repository=repository, normalized_name=name)


def npm_version_records(*, package: Package) -> list[dict[str, Any]]:
    """Return the per-version records ``metadata.build_packument`` takes, oldest first."""
    records = []
    for version in package.versions.select_related("published_by").order_by("published_at", "pk"):
        stored = version.metadata
        publisher = version.published_by
        records.append(
            {
                "version": version.version,
                "manifest": stored.get("manifest", {}),
                "integrity": stored.get("integrity", ""),
                "shasum": stored.get("shasum", ""),
                "file_count": stored.get("file_count"),
                "unpacked_size": stored.get("unpacked_size"),
                "published_at": version.published_at,
                "deprecated": version.deprecated or None,
                "readme": stored.get("readme", ""),
                "readme_filename": stored.get("readme_filename", ""),
                "publisher": publisher.get_username() if publisher else "",
                "publisher_email": getattr(publisher, "email", "") or "",
            }
        )
    return records


def npm_dist_tags(*, package: Package) -> dict[str, str]:
    """Return the dist-tags of ``package`` as ``{tag: version}``."""
    return dict(package.tags.values_list("name", "version__version"))


def npm_version_document(*, package: Package, spec: str, tarball_base_url: str) -> dict[str, Any]:
    """Return the document of one version, named by its version or by a dist-tag.

    Raises:
        VersionUnknown: neither a version nor a dist-tag of the package.
    """
    tagged = package.tags.filter(name=spec).values_list("version__version", flat=True).first()
    wanted = tagged or spec
    record = next((r for r in npm_version_records(package=package) if r["version"] == wanted), None)
    if record is None:
        raise VersionUnknown(f"version not found: {package.name}@{spec}")
    return metadata.build_version_document(
        name=package.name, record=record, tarball_base_url=tarball_base_url
    )


def npm_search(
    *, repositories: list[Repository], query: bodies.SearchQuery
) -> tuple[list[dict[str, Any]], int]:
    """Return one page of the packages of ``repositories`` matching every word, and the total.

    A word matches a package's name or the description of its latest version.
    """
    packages: QuerySet[Package] = Package.objects.filter(
        repository__in=repositories, metadata__has_key="latest"
    )
    for word in query.text.split():
        packages = packages.filter(
            Q(normalized_name__icontains=word) | Q(metadata__latest__description__icontains=word)
        )
    total = packages.count()
    page = packages.order_by("normalized_name")[query.offset : query.offset + query.size]
    hits = []
    for package in page:
        latest = package.metadata["latest"]
        hits.append(
            {
                "name": package.name,
                "version": latest["version"],
                "description": latest["description"],
                "keywords": latest["keywords"],
                "date": metadata.parse_time(latest["date"]),
                "publisher": latest["publisher"],
                "maintainers": latest["maintainers"],
            }
        )
    return hits, total


def npm_tokens_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[ApiToken]:
    """Return the caller's tokens that still work, newest first (none for the anonymous user)."""
    if isinstance(user, AnonymousUser):
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user_id=user.pk, revoked_at=None).filter(
        Q(expires_at=None) | Q(expires_at__gt=timezone.now())
    )


def npm_token_key(*, token: ApiToken) -> str:
    """Return the ``key`` ``npm token list`` shows for a token and ``npm token revoke`` sends.

    A digest of the token's id keyed with the server's secret: stable and unique, and neither
    the secret nor its stored hash (the public registry's key is the token's hash; ours is not
    given out). npm matches a key by prefix and shows the shortest unique one.
    """
    return salted_hmac(TOKEN_KEY_SALT, str(token.pk), algorithm="sha256").hexdigest()


def npm_token_find(*, user: AbstractBaseUser | AnonymousUser, key: str) -> ApiToken | None:
    """Return the caller's working token whose npm key is ``key``, or whose secret it is.

    ``npm token revoke <token>`` sends the secret itself when given one instead of an id.
    """
    secret_hash = hash_token(key) if key.startswith(TOKEN_PREFIX) else ""
    for token in npm_tokens_list(user=user):
        if secret_hash and constant_time_compare(token.token_hash, secret_hash):
            return token
        if constant_time_compare(npm_token_key(token=token), key):
            return token
    return None
