"""Request bodies of the npm registry API: publish, metadata updates, stars, logins, tokens.

Implements the PUT/POST bodies of https://github.com/npm/registry/blob/main/docs/REGISTRY-API.md
as the npm 11 CLI really sends them (captured in ``tests/formats/npm/data/npm11_exchanges.json``),
and Subresource Integrity (https://www.w3.org/TR/SRI/) for ``dist.integrity``. Pure: no Django.
"""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

from formats.npm.errors import IntegrityInvalid, PackageInvalid, PublishInvalid
from formats.npm.names import tarball_filename, validate_dist_tag, validate_name, validate_version
from registry_project import jsonbody

DEFAULT_SEARCH_SIZE = 20
MAX_SEARCH_SIZE = 250
# No repository holds 2**31 packages: a larger ``from`` is an empty page, not a database error.
MAX_SEARCH_OFFSET = 2**31 - 1

_SRI_ALGORITHMS = {"sha512": 3, "sha384": 2, "sha256": 1, "sha1": 0}
_USER_ID_PREFIX = "org.couchdb.user:"


class PutKind(StrEnum):
    """What a ``PUT /<name>`` (or ``PUT /<name>/-rev/<rev>``) body asks for."""

    PUBLISH = "publish"
    METADATA_UPDATE = "metadata_update"
    STAR = "star"


def sri_sha512(sha512_hex: str) -> str:
    """Return the ``sha512-<base64>`` integrity string of a hex sha512."""
    return "sha512-" + base64.b64encode(bytes.fromhex(sha512_hex)).decode("ascii")


@dataclass(frozen=True)
class PublishRequest:
    """One version published by ``npm publish``, checked against its attachment.

    Attributes:
        name: Package name, possibly scoped (``@scope/name``).
        version: The single version being published.
        manifest: The version document as the client sent it (package.json plus ``dist``).
        dist_tags: Tags to point at ``version`` (normally ``{"latest": version}``).
        tarball: Decoded tarball bytes.
        tarball_filename: Attachment key as sent (``<name>-<version>.tgz``).
        integrity: The ``dist.integrity`` SRI string as sent, or ``""``.
        shasum: The ``dist.shasum`` hex sha1 as sent, or ``""``.
        sha512_hex: Hex sha512 of the tarball, computed here.
        sha1_hex: Hex sha1 of the tarball, computed here.
        readme: README text carried in the body, or ``""``.
        access: ``"public"``, ``"restricted"`` or ``None`` (npm sends null by default).
    """

    name: str
    version: str
    manifest: Mapping[str, Any]
    dist_tags: Mapping[str, str]
    tarball: bytes = field(repr=False)
    tarball_filename: str
    integrity: str
    shasum: str
    sha512_hex: str
    sha1_hex: str
    readme: str
    access: str | None

    @property
    def sri_sha512(self) -> str:
        """The tarball's ``sha512-<base64>`` integrity string."""
        return sri_sha512(self.sha512_hex)


@dataclass(frozen=True)
class MetadataUpdate:
    """A PUT without attachments: the client's edited copy of the whole packument.

    ``npm deprecate`` sends it to ``/<name>`` with ``deprecated`` set on versions; ``npm unpublish
    name@version`` sends it to ``/<name>/-rev/<rev>`` with that version removed. Use
    ``diff_metadata_update`` to learn what changed.

    Attributes:
        name: Package name.
        rev: The revision from the URL or the body's ``_rev``, or ``None``.
        versions: Version documents the client kept, keyed by version.
        dist_tags: The client's dist-tags.
        document: The whole body as parsed.
    """

    name: str
    rev: str | None
    versions: Mapping[str, Mapping[str, Any]]
    dist_tags: Mapping[str, str]
    document: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class StarUpdate:
    """A PUT of only ``_id``, ``_rev`` and ``users``: ``npm star`` and ``npm unstar``.

    Attributes:
        name: Package name.
        rev: The body's ``_rev`` (npm read it with ``?write=true``), or ``None``.
        users: User names the client's copy marks as starring the package.
    """

    name: str
    rev: str | None
    users: frozenset[str]


@dataclass(frozen=True)
class MetadataChanges:
    """What a ``MetadataUpdate`` changes relative to the stored package.

    Attributes:
        deprecated: Version -> new non-empty deprecation message.
        undeprecated: Versions whose deprecation the client cleared.
        removed_versions: Versions absent from the update (``npm unpublish name@version``).
        dist_tags_set: Tag -> version for tags added or moved.
        dist_tags_removed: Tags absent from the update.
    """

    deprecated: Mapping[str, str]
    undeprecated: tuple[str, ...]
    removed_versions: tuple[str, ...]
    dist_tags_set: Mapping[str, str]
    dist_tags_removed: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        """True when the update changes nothing this layer understands."""
        return not (
            self.deprecated
            or self.undeprecated
            or self.removed_versions
            or self.dist_tags_set
            or self.dist_tags_removed
        )


@dataclass(frozen=True)
class LoginRequest:
    """Body of ``PUT /-/user/org.couchdb.user:<name>`` (``npm login``/``adduser``, legacy auth).

    Attributes:
        name: User name.
        password: Password in clear (only over TLS in production).
        email: Present for ``npm adduser``, absent for ``npm login``.
        rev: The ``_rev`` npm adds when it retries an existing user after a 409.
    """

    name: str
    password: str = field(repr=False)
    email: str | None
    rev: str | None


@dataclass(frozen=True)
class SearchQuery:
    """Parameters of ``GET /-/v1/search``.

    Attributes:
        text: Search text (npm sends the words joined with spaces).
        size: Page size, capped at ``MAX_SEARCH_SIZE``.
        offset: The ``from`` parameter, capped at ``MAX_SEARCH_OFFSET``.
    """

    text: str
    size: int
    offset: int


def _load_json_object(body: bytes | str, *, what: str) -> dict[str, Any]:
    try:
        document = jsonbody.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PublishInvalid(f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise PublishInvalid(f"{what} must be a JSON object")
    return document


def _check_body_name(document: Mapping[str, Any], *, url_name: str) -> None:
    name = document.get("name")
    if not isinstance(name, str):
        raise PublishInvalid(f"the body has no package name; the URL names {url_name!r}")
    if name != url_name:
        raise PublishInvalid(
            f"package name {name!r} in the body does not match the URL {url_name!r}"
        )
    if "_id" in document and document["_id"] != url_name:
        raise PublishInvalid(f"_id {document['_id']!r} does not match the URL {url_name!r}")


def _string_mapping(value: object, *, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise PublishInvalid(f"{what} must be an object of strings")
    return dict(value)


def classify_put_body(*, body: bytes) -> PutKind:
    """Tell a publish from a metadata update without validating anything else.

    npm sends all three to the same URL; only a publish carries a non-empty ``_attachments``,
    and only ``npm star``/``unstar`` send ``users`` without ``versions``.

    Raises:
        PublishInvalid: The body is not a JSON object.
    """
    document = _load_json_object(body, what="request body")
    if document.get("_attachments"):
        return PutKind.PUBLISH
    if "versions" not in document and isinstance(document.get("users"), dict):
        return PutKind.STAR
    return PutKind.METADATA_UPDATE


def parse_put_body(
    *, body: bytes, url_name: str, rev: str | None = None
) -> PublishRequest | MetadataUpdate | StarUpdate:
    """Parse any PUT the CLI sends to ``/<name>`` or ``/<name>/-rev/<rev>``.

    Args:
        body: Raw request body.
        url_name: Package name decoded from the URL.
        rev: The ``<rev>`` URL segment, when the client sent one.

    Returns:
        A ``PublishRequest`` for ``npm publish``, a ``StarUpdate`` for ``npm star``/``unstar``,
        otherwise a ``MetadataUpdate``.

    Raises:
        PublishInvalid: The body is malformed; ``IntegrityInvalid`` for bad digests.
    """
    kind = classify_put_body(body=body)
    if kind is PutKind.PUBLISH:
        if rev is not None:
            raise PublishInvalid("a publish cannot target a revision URL")
        return parse_publish_body(body=body, url_name=url_name)
    if kind is PutKind.STAR:
        return parse_star_body(body=body, url_name=url_name)
    return parse_metadata_update(body=body, url_name=url_name, rev=rev)


def parse_star_body(*, body: bytes, url_name: str) -> StarUpdate:
    """Parse the body ``npm star`` and ``npm unstar`` PUT to ``/<name>``.

    Raises:
        PublishInvalid: The body is malformed or its ``_id`` names another package.
    """
    document = _load_json_object(body, what="star body")
    if document.get("_id", url_name) != url_name:
        raise PublishInvalid(f"_id {document['_id']!r} does not match the URL {url_name!r}")
    users = document.get("users")
    if not isinstance(users, dict):
        raise PublishInvalid("users must be an object")
    rev = document.get("_rev")
    return StarUpdate(
        name=url_name,
        rev=rev if isinstance(rev, str) else None,
        users=frozenset(user for user, starred in users.items() if starred is True),
    )


def parse_publish_body(*, body: bytes, url_name: str) -> PublishRequest:
    """Parse and verify the JSON body ``npm publish`` PUTs to ``/<name>``.

    Checks that the body names the package in the URL, holds exactly one version and one
    attachment named after it, that the attachment is valid base64 of the declared ``length``,
    and that its sha512 and sha1 match ``dist.integrity`` and ``dist.shasum``.

    Args:
        body: Raw request body.
        url_name: Package name decoded from the URL.

    Returns:
        The verified publish.

    Raises:
        PackageInvalid: ``url_name`` is not valid for a new package.
        PublishInvalid: The body is malformed or inconsistent.
        IntegrityInvalid: A digest in ``dist`` does not match the tarball.
    """
    validate_name(name=url_name)
    document = _load_json_object(body, what="publish body")
    _check_body_name(document, url_name=url_name)
    versions = document.get("versions")
    if not isinstance(versions, dict) or len(versions) != 1:
        count = len(versions) if isinstance(versions, dict) else 0
        raise PublishInvalid(f"a publish must contain exactly one version, got {count}")
    ((version, manifest),) = versions.items()
    validate_version(version=version)
    if not isinstance(manifest, dict):
        raise PublishInvalid(f"version {version!r} must be an object")
    if manifest.get("name") != url_name or manifest.get("version") != version:
        raise PublishInvalid(
            f"version document {manifest.get('name')!r}@{manifest.get('version')!r} "
            f"does not match {url_name}@{version}"
        )
    dist_tags = _string_mapping(document.get("dist-tags"), what="dist-tags")
    if not dist_tags:
        raise PublishInvalid("dist-tags must name at least one tag")
    for tag, tagged in dist_tags.items():
        validate_dist_tag(tag=tag)
        if tagged != version:
            raise PublishInvalid(
                f"dist-tag {tag!r} points at {tagged!r}, not the published {version}"
            )
    filename, tarball = _decode_attachment(
        document.get("_attachments"), name=url_name, version=version
    )
    dist = manifest.get("dist")
    if not isinstance(dist, dict):
        raise PublishInvalid("the version has no dist object")
    integrity = dist.get("integrity") or ""
    shasum = dist.get("shasum") or ""
    if not isinstance(integrity, str) or not isinstance(shasum, str):
        raise PublishInvalid("dist.integrity and dist.shasum must be strings")
    if not integrity and not shasum:
        raise PublishInvalid("dist must carry integrity or shasum")
    sha512_hex = hashlib.sha512(tarball).hexdigest()
    sha1_hex = hashlib.sha1(tarball, usedforsecurity=False).hexdigest()
    if shasum and not hmac.compare_digest(shasum.lower(), sha1_hex):
        raise IntegrityInvalid(f"dist.shasum {shasum} does not match the tarball's sha1 {sha1_hex}")
    if integrity:
        check_integrity(integrity=integrity, data=tarball)
    readme = document.get("readme", manifest.get("readme", ""))
    access = document.get("access")
    if access not in (None, "public", "restricted"):
        raise PublishInvalid(f"access must be public or restricted, got {access!r}")
    return PublishRequest(
        name=url_name,
        version=version,
        manifest=manifest,
        dist_tags=dist_tags,
        tarball=tarball,
        tarball_filename=filename,
        integrity=integrity,
        shasum=shasum.lower(),
        sha512_hex=sha512_hex,
        sha1_hex=sha1_hex,
        readme=readme if isinstance(readme, str) else "",
        access=access,
    )


def publish_of_tarball(
    *, manifest: Mapping[str, Any], tarball: bytes, dist_tags: Mapping[str, str]
) -> PublishRequest:
    """Describe a tarball from elsewhere (``npm pack``, a Verdaccio storage folder) as the
    publish ``npm publish`` would send for it; ``manifest`` is its package.json.

    Raises:
        PackageInvalid, PublishInvalid: the package.json names no valid package or version.
    """
    name, version = manifest.get("name"), manifest.get("version")
    if not isinstance(name, str) or not isinstance(version, str):
        raise PublishInvalid("package.json must name the package and its version")
    validate_name(name=name)
    validate_version(version=version)
    sha512_hex = hashlib.sha512(tarball).hexdigest()
    sha1_hex = hashlib.sha1(tarball, usedforsecurity=False).hexdigest()
    integrity = sri_sha512(sha512_hex)
    return PublishRequest(
        name=name,
        version=version,
        manifest={**manifest, "dist": {"integrity": integrity, "shasum": sha1_hex}},
        dist_tags=dist_tags,
        tarball=tarball,
        tarball_filename=tarball_filename(name=name, version=version),
        integrity=integrity,
        shasum=sha1_hex,
        sha512_hex=sha512_hex,
        sha1_hex=sha1_hex,
        readme="",
        access=None,
    )


def _decode_attachment(attachments: object, *, name: str, version: str) -> tuple[str, bytes]:
    if not isinstance(attachments, dict) or len(attachments) != 1:
        count = len(attachments) if isinstance(attachments, dict) else 0
        raise PublishInvalid(f"a publish must contain exactly one attachment, got {count}")
    ((filename, attachment),) = attachments.items()
    # npm 11 names a scoped attachment "@scope/name-1.0.0.tgz"; older clients used the bare name.
    allowed = {f"{name}-{version}.tgz", tarball_filename(name=name, version=version)}
    if filename not in allowed:
        raise PublishInvalid(f"attachment {filename!r} does not match {name}@{version}")
    if not isinstance(attachment, dict) or not isinstance(attachment.get("data"), str):
        raise PublishInvalid(f"attachment {filename!r} has no base64 data")
    try:
        tarball = base64.b64decode(attachment["data"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PublishInvalid(f"attachment {filename!r} is not valid base64: {exc}") from exc
    length = attachment.get("length")
    if length is not None and (isinstance(length, bool) or length != len(tarball)):
        raise PublishInvalid(
            f"attachment {filename!r} declares length {length!r}, "
            f"but its data decodes to {len(tarball)} bytes"
        )
    return filename, tarball


def check_integrity(*, integrity: str, data: bytes) -> None:
    """Verify ``data`` against a Subresource Integrity string such as ``sha512-<base64>``.

    As in SRI, only the strongest algorithm present counts, and any of its hashes may match.

    Raises:
        IntegrityInvalid: No hash of the strongest algorithm matches, or none is recognized.
    """
    entries: dict[str, list[bytes]] = {}
    for token in integrity.split():
        algorithm, _, digest = token.partition("-")
        if algorithm in _SRI_ALGORITHMS:
            try:
                entries.setdefault(algorithm, []).append(base64.b64decode(digest.split("?")[0]))
            except (binascii.Error, ValueError) as exc:
                raise IntegrityInvalid(f"dist.integrity {token!r} is not valid base64") from exc
    if not entries:
        raise IntegrityInvalid(f"dist.integrity {integrity!r} has no supported hash")
    algorithm = max(entries, key=_SRI_ALGORITHMS.__getitem__)
    actual = hashlib.new(algorithm, data).digest()
    if not any(hmac.compare_digest(expected, actual) for expected in entries[algorithm]):
        computed = f"{algorithm}-{base64.b64encode(actual).decode('ascii')}"
        raise IntegrityInvalid(
            f"dist.integrity {integrity} does not match the tarball ({computed})"
        )


def parse_metadata_update(*, body: bytes, url_name: str, rev: str | None = None) -> MetadataUpdate:
    """Parse a PUT without attachments (``npm deprecate``, ``npm unpublish name@version``).

    Args:
        body: Raw request body: the client's edited copy of the full packument.
        url_name: Package name decoded from the URL.
        rev: The ``<rev>`` URL segment, when the client sent one.

    Returns:
        The update; compare it with stored state through ``diff_metadata_update``.

    Raises:
        PublishInvalid: The body is malformed or names another package.
    """
    document = _load_json_object(body, what="metadata body")
    _check_body_name(document, url_name=url_name)
    if document.get("_attachments"):
        raise PublishInvalid("a metadata update cannot carry attachments")
    versions = document.get("versions", {})
    if not isinstance(versions, dict) or not all(isinstance(v, dict) for v in versions.values()):
        raise PublishInvalid("versions must be an object of version documents")
    body_rev = document.get("_rev")
    return MetadataUpdate(
        name=url_name,
        rev=rev if rev is not None else (body_rev if isinstance(body_rev, str) else None),
        versions=versions,
        dist_tags=_string_mapping(document.get("dist-tags", {}), what="dist-tags"),
        document=document,
    )


def diff_metadata_update(
    *,
    update: MetadataUpdate,
    current_versions: Mapping[str, str | None],
    current_dist_tags: Mapping[str, str],
) -> MetadataChanges:
    """Compare a ``MetadataUpdate`` with the stored package.

    Only deprecation messages, removed versions and dist-tags are read from the update; the
    client's copy of everything else (dist, dependencies) is never trusted.

    Args:
        update: The parsed update.
        current_versions: Stored version -> current deprecation message (``None`` if none).
        current_dist_tags: Stored dist-tags.

    Returns:
        The changes to apply.

    Raises:
        PublishInvalid: The update adds versions, or points a tag at a version it does not keep.
    """
    added = sorted(set(update.versions) - set(current_versions))
    if added:
        raise PublishInvalid(f"versions {', '.join(added)} cannot be added without a tarball")
    deprecated: dict[str, str] = {}
    undeprecated: list[str] = []
    for version, document in update.versions.items():
        # npm deprecate sends "" to clear a message; treat a missing field the same way.
        message = document.get("deprecated") or ""
        if not isinstance(message, str):
            raise PublishInvalid(f"deprecated of {version} must be a string")
        before = current_versions[version] or ""
        if message and message != before:
            deprecated[version] = message
        elif not message and before:
            undeprecated.append(version)
    for tag, version in update.dist_tags.items():
        if version not in update.versions:
            raise PublishInvalid(f"dist-tag {tag!r} points at {version!r}, which is not kept")
    return MetadataChanges(
        deprecated=deprecated,
        undeprecated=tuple(sorted(undeprecated)),
        removed_versions=tuple(sorted(set(current_versions) - set(update.versions))),
        dist_tags_set={
            tag: version
            for tag, version in update.dist_tags.items()
            if current_dist_tags.get(tag) != version
        },
        dist_tags_removed=tuple(sorted(set(current_dist_tags) - set(update.dist_tags))),
    )


def parse_dist_tag_body(*, body: bytes) -> str:
    """Return the version from ``PUT /-/package/<name>/dist-tags/<tag>`` (a JSON string).

    Raises:
        PublishInvalid: The body is not a JSON string holding a semver version.
    """
    try:
        version = jsonbody.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PublishInvalid(f"dist-tag body is not valid JSON: {exc}") from exc
    if not isinstance(version, str):
        raise PublishInvalid("dist-tag body must be a JSON string holding a version")
    return validate_version(version=version)


def parse_login_body(*, body: bytes, url_user: str) -> LoginRequest:
    """Parse ``PUT /-/user/org.couchdb.user:<name>`` as ``npm login --auth-type=legacy`` sends it.

    Args:
        body: Raw request body (``{"_id", "name", "password", "type", "roles", "date"}`` plus
            ``email`` for adduser and ``_rev`` on the retry after a 409).
        url_user: The URL segment after ``/-/user/``, with or without ``org.couchdb.user:``.

    Raises:
        PublishInvalid: The body is malformed or names another user.
    """
    document = _load_json_object(body, what="login body")
    user = unquote(url_user).removeprefix(_USER_ID_PREFIX)
    name, password = document.get("name"), document.get("password")
    if not isinstance(name, str) or not name or name != user:
        raise PublishInvalid(f"user name {name!r} does not match the URL {user!r}")
    if not isinstance(password, str) or not password:
        raise PublishInvalid("password is required")
    email, rev = document.get("email"), document.get("_rev")
    return LoginRequest(
        name=name,
        password=password,
        email=email if isinstance(email, str) and email else None,
        rev=rev if isinstance(rev, str) else None,
    )


@dataclass(frozen=True)
class TokenCreateRequest:
    """Body of ``POST /-/npm/v1/tokens`` (``npm token create``).

    Attributes:
        password: The caller's password, confirming the request.
        name: Token name (``--name``), or ``""``.
        readonly: Whether the token may only read, or ``None`` when the body does not say
            (npm 11 never sends it; the new token then inherits the caller's flag).
        expires_days: Lifetime in days (``--expires``), or ``None`` for no expiry.
    """

    password: str = field(repr=False)
    name: str
    readonly: bool | None
    expires_days: int | None


def parse_token_create_body(*, body: bytes) -> TokenCreateRequest:
    """Parse ``POST /-/npm/v1/tokens``; CIDR limits are refused rather than silently ignored.

    Raises:
        PublishInvalid: The body is malformed, lacks the password or asks for a CIDR limit.
    """
    document = _load_json_object(body, what="token body")
    password = document.get("password")
    if not isinstance(password, str) or not password:
        raise PublishInvalid("password is required to create a token")
    if document.get("cidr_whitelist"):
        raise PublishInvalid("CIDR whitelists are not supported by this registry")
    name = document.get("name")
    readonly = document.get("readonly")
    expires = document.get("expires")
    if readonly is not None and not isinstance(readonly, bool):
        raise PublishInvalid("readonly must be true or false")
    if expires is not None and (
        isinstance(expires, bool) or not isinstance(expires, int) or expires <= 0
    ):
        raise PublishInvalid("expires must be a positive number of days")
    return TokenCreateRequest(
        password=password,
        name=name if isinstance(name, str) else "",
        readonly=readonly,
        expires_days=expires,
    )


def parse_search_query(*, params: Mapping[str, str]) -> SearchQuery:
    """Read ``text``, ``size`` and ``from`` of ``GET /-/v1/search``; npm's weights are ignored.

    Raises:
        PackageInvalid: ``size`` or ``from`` is not a non-negative integer.
    """
    try:
        size = int(params.get("size", DEFAULT_SEARCH_SIZE))
        offset = int(params.get("from", 0))
    except ValueError as exc:
        raise PackageInvalid("search size and from must be integers") from exc
    if size < 0 or offset < 0:
        raise PackageInvalid("search size and from must not be negative")
    return SearchQuery(
        text=params.get("text", "").strip(),
        size=min(size, MAX_SEARCH_SIZE),
        offset=min(offset, MAX_SEARCH_OFFSET),
    )
