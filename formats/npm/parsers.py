"""Pure protocol layer of the npm registry: names, PUT bodies, tarballs and response documents.

Implements the wire formats of
https://github.com/npm/registry/blob/main/docs/REGISTRY-API.md and
https://github.com/npm/registry/blob/main/docs/responses/package-metadata.md, plus the bodies the
npm 11 CLI really sends (captured in ``tests/formats/npm/data/npm11_exchanges.json``). Nothing
here touches Django or the database: views and services feed plain data in and get dicts or
frozen dataclasses out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import tarfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import IO, Any
from urllib.parse import quote, unquote

from registry_project import jsonbody

MIME_JSON = "application/json"
MIME_NPM_ABBREVIATED = "application/vnd.npm.install-v1+json"
MIME_NPM_TARBALL = "application/octet-stream"

HEADER_NPM_COMMAND = "npm-command"
HEADER_NPM_AUTH_TYPE = "npm-auth-type"
HEADER_NPM_OTP = "npm-otp"
HEADER_NPM_NOTICE = "npm-notice"
HEADER_NPM_SESSION = "npm-session"
HEADER_PACOTE_REQ_TYPE = "pacote-req-type"
HEADER_PACOTE_INTEGRITY = "pacote-integrity"

MAX_NAME_LENGTH = 214
MAX_PACKUMENT_README_CHARS = 65536
DEFAULT_MAX_MEMBER_SIZE = 64 * 1024 * 1024
DEFAULT_MAX_TOTAL_SIZE = 512 * 1024 * 1024
DEFAULT_MAX_MEMBERS = 100_000
DEFAULT_MAX_README_SIZE = 1024 * 1024
DEFAULT_SEARCH_SIZE = 20
MAX_SEARCH_SIZE = 250
# No repository holds 2**31 packages: a larger ``from`` is an empty page, not a database error.
MAX_SEARCH_OFFSET = 2**31 - 1

# What validate-npm-package-name 7 refuses for new packages: Node's core module names.
NODE_BUILTIN_NAMES = frozenset(
    {
        "assert",
        "async_hooks",
        "buffer",
        "child_process",
        "cluster",
        "console",
        "constants",
        "crypto",
        "dgram",
        "diagnostics_channel",
        "dns",
        "domain",
        "events",
        "fs",
        "http",
        "http2",
        "https",
        "inspector",
        "module",
        "net",
        "os",
        "path",
        "perf_hooks",
        "process",
        "punycode",
        "querystring",
        "readline",
        "repl",
        "stream",
        "string_decoder",
        "sys",
        "timers",
        "tls",
        "trace_events",
        "tty",
        "url",
        "util",
        "v8",
        "vm",
        "wasi",
        "worker_threads",
        "zlib",
    }
)
EXCLUDED_NAMES = frozenset({"node_modules", "favicon.ico"})

# Fields of a version kept in the abbreviated ("corgi") document that ``npm install`` asks for.
ABBREVIATED_VERSION_FIELDS = (
    "name",
    "version",
    "deprecated",
    "dependencies",
    "optionalDependencies",
    "devDependencies",
    "bundleDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "bin",
    "directories",
    "dist",
    "engines",
    "cpu",
    "os",
    "_hasShrinkwrap",
    "hasInstallScript",
    "funding",
    "license",
)
# Hoisted from the latest version to the top of the full packument, as the public registry does.
HOISTED_FIELDS = (
    "description",
    "author",
    "bugs",
    "contributors",
    "homepage",
    "keywords",
    "license",
    "repository",
)
INSTALL_SCRIPTS = ("preinstall", "install", "postinstall")

# encodeURIComponent leaves exactly these characters alone.
_URL_SAFE = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+$")
_SPECIAL = re.compile(r"[~'!()*]")
# semver.org's reference grammar; npm only accepts versions that parse this way.
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_README = re.compile(r"^readme(\.[A-Za-z0-9]+)?$", re.IGNORECASE)
_README_PREFERENCE = {".md": 0, ".markdown": 1, "": 2, ".txt": 3}
_SRI_ALGORITHMS = {"sha512": 3, "sha384": 2, "sha256": 1, "sha1": 0}
_USER_ID_PREFIX = "org.couchdb.user:"


class InvalidPackage(ValueError):
    """A package name, version or dist-tag that npm would not accept."""


class InvalidPublish(ValueError):
    """A PUT body (publish, deprecate, unpublish) that is malformed or inconsistent."""


class IntegrityMismatch(InvalidPublish):
    """The attached tarball does not hash to what the body's ``dist`` claims."""


class InvalidTarball(ValueError):
    """A package tarball that is not a safe, readable gzip tar with a package.json."""


class PutKind(StrEnum):
    """What a ``PUT /<name>`` (or ``PUT /<name>/-rev/<rev>``) body asks for."""

    PUBLISH = "publish"
    METADATA_UPDATE = "metadata_update"
    STAR = "star"


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
        return "sha512-" + base64.b64encode(bytes.fromhex(self.sha512_hex)).decode("ascii")


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
class TarballContents:
    """What ``read_tarball_manifest`` found in a package tarball.

    Attributes:
        manifest: The parsed ``package.json``.
        readme: README text (UTF-8, undecodable bytes replaced), or ``""``.
        readme_filename: README file name as found (``README.md``), or ``""``.
        root: Name of the tarball's top directory (``package`` for npm-made tarballs).
        file_count: Number of regular files.
        unpacked_size: Sum of the regular files' sizes.
        files: Paths of the regular files below ``root``, relative to it.
    """

    manifest: Mapping[str, Any]
    readme: str
    readme_filename: str
    root: str
    file_count: int
    unpacked_size: int
    files: frozenset[str] = frozenset()


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


def validate_name(*, name: str, new_package: bool = True) -> str:
    """Check a package name against npm's rules (validate-npm-package-name).

    Args:
        name: The name, already URL-decoded (``@scope/name``).
        new_package: Apply the stricter rules for new packages (lowercase, at most 214
            characters, no ``~'!()*``, not a Node core module). Names of existing public
            packages, as a proxy sees them, only need the old rules.

    Returns:
        The name, unchanged.

    Raises:
        InvalidPackage: The name breaks a rule; the message says which.
    """
    problems = _name_errors(name)
    if new_package and isinstance(name, str):
        problems += _name_warnings(name)
    if problems:
        raise InvalidPackage(f"invalid package name {name!r}: {'; '.join(problems)}")
    return name


def _name_errors(name: str) -> list[str]:
    if not isinstance(name, str):
        return ["name must be a string"]
    errors: list[str] = []
    if not name:
        errors.append("name length must be greater than zero")
    if name.startswith("."):
        errors.append("name cannot start with a period")
    if name.startswith("-"):
        errors.append("name cannot start with a hyphen")
    if name.startswith("_"):
        errors.append("name cannot start with an underscore")
    if name.strip() != name:
        errors.append("name cannot contain leading or trailing spaces")
    if name.lower() in EXCLUDED_NAMES:
        errors.append(f"{name.lower()} is not a valid package name")
    if name and not _URL_SAFE.match(name):
        scope, bare = _split(name)
        if scope is None or not _URL_SAFE.match(scope) or not _URL_SAFE.match(bare):
            errors.append("name can only contain URL-friendly characters")
        elif bare.startswith("."):
            errors.append("name cannot start with a period")
    return errors


def _name_warnings(name: str) -> list[str]:
    warnings: list[str] = []
    if name.lower() in NODE_BUILTIN_NAMES:
        warnings.append(f"{name} is a core module name")
    if len(name) > MAX_NAME_LENGTH:
        warnings.append(f"name can no longer contain more than {MAX_NAME_LENGTH} characters")
    if name.lower() != name:
        warnings.append("name can no longer contain capital letters")
    if _SPECIAL.search(name.rsplit("/", 1)[-1]):
        warnings.append('name can no longer contain special characters ("~\'!()*")')
    return warnings


def _split(name: str) -> tuple[str | None, str]:
    if name.startswith("@") and name.count("/") == 1:
        scope, bare = name[1:].split("/")
        if scope and bare:
            return scope, bare
    return None, name


def split_name(*, name: str) -> tuple[str | None, str]:
    """Split a package name into its scope (without ``@``) and bare name.

    Args:
        name: A valid package name (``@scope/name`` or ``name``).

    Returns:
        ``(scope, bare)``; ``scope`` is ``None`` for unscoped names.

    Raises:
        InvalidPackage: ``name`` starts with ``@`` but is not ``@scope/name``.
    """
    scope, bare = _split(name)
    if scope is None and name.startswith("@"):
        raise InvalidPackage(f"invalid package name {name!r}: a scoped name is @scope/name")
    return scope, bare


def decode_name_from_url(*, segment: str, new_package: bool = False) -> str:
    """Turn the name part of a registry URL into a package name and validate it.

    npm escapes scoped names in packument and publish URLs (``/@scope%2fname``) but not in
    tarball URLs (``/@scope/name/-/name-1.0.0.tgz``); both reach this function.

    Args:
        segment: ``name``, ``@scope%2fname`` (any case of ``%2f``) or ``@scope/name``.
        new_package: Validate with the rules for new packages (use it for publish).

    Returns:
        The decoded name (``@scope/name``).

    Raises:
        InvalidPackage: The decoded name is not a valid npm name.
    """
    name = unquote(segment)
    return validate_name(name=name, new_package=new_package)


def encode_name_for_url(*, name: str) -> str:
    """Escape a package name the way npm does in packument URLs (``@scope%2fname``)."""
    scope, bare = split_name(name=name)
    return bare if scope is None else f"@{scope}%2f{quote(bare, safe='')}"


def validate_version(*, version: str) -> str:
    """Check that ``version`` is a strict semver version, as npm publishes them.

    Raises:
        InvalidPackage: ``version`` is not ``MAJOR.MINOR.PATCH[-pre][+build]``.
    """
    if not isinstance(version, str) or not _SEMVER.match(version):
        raise InvalidPackage(f"invalid version {version!r}: not a semver version")
    return version


def validate_dist_tag(*, tag: str) -> str:
    """Check a dist-tag name.

    The registry refuses tags that parse as versions or ranges (``1.0.0``, ``v2``) because
    ``npm install name@<tag>`` could not tell them apart from a version spec.

    Raises:
        InvalidPackage: The tag is empty, not URL-safe, or looks like a version.
    """
    if not isinstance(tag, str) or not tag or not _URL_SAFE.match(tag):
        raise InvalidPackage(f"invalid dist-tag {tag!r}: must be a non-empty URL-safe string")
    if _SEMVER.match(tag.lstrip("v=")) or re.fullmatch(r"v?\d+(\.\d+)?", tag):
        raise InvalidPackage(f"invalid dist-tag {tag!r}: a tag cannot look like a version")
    return tag


def tarball_filename(*, name: str, version: str) -> str:
    """Return the file name the registry serves a version's tarball under (``name-1.0.0.tgz``)."""
    _, bare = split_name(name=name)
    return f"{bare}-{version}.tgz"


def tarball_path(*, name: str, version: str) -> str:
    """Return the tarball path below the registry root (``@scope/name/-/name-1.0.0.tgz``).

    Scoped names stay unescaped here: that is how npm requests tarballs.
    """
    return f"{name}/-/{tarball_filename(name=name, version=version)}"


def parse_tarball_filename(*, name: str, filename: str) -> str:
    """Return the version encoded in a tarball file name requested for package ``name``.

    Raises:
        InvalidPackage: ``filename`` is not ``<bare name>-<semver>.tgz``.
    """
    _, bare = split_name(name=name)
    prefix = f"{bare}-"
    if not filename.startswith(prefix) or not filename.endswith(".tgz"):
        raise InvalidPackage(f"tarball {filename!r} does not belong to package {name!r}")
    return validate_version(version=filename[len(prefix) : -len(".tgz")])


def _load_json_object(body: bytes | str, *, what: str) -> dict[str, Any]:
    try:
        document = jsonbody.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidPublish(f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidPublish(f"{what} must be a JSON object")
    return document


def _check_body_name(document: Mapping[str, Any], *, url_name: str) -> None:
    name = document.get("name")
    if not isinstance(name, str):
        raise InvalidPublish(f"the body has no package name; the URL names {url_name!r}")
    if name != url_name:
        raise InvalidPublish(
            f"package name {name!r} in the body does not match the URL {url_name!r}"
        )
    if "_id" in document and document["_id"] != url_name:
        raise InvalidPublish(f"_id {document['_id']!r} does not match the URL {url_name!r}")


def _string_mapping(value: object, *, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidPublish(f"{what} must be an object of strings")
    return dict(value)


def classify_put_body(*, body: bytes) -> PutKind:
    """Tell a publish from a metadata update without validating anything else.

    npm sends all three to the same URL; only a publish carries a non-empty ``_attachments``,
    and only ``npm star``/``unstar`` send ``users`` without ``versions``.

    Raises:
        InvalidPublish: The body is not a JSON object.
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
        InvalidPublish: The body is malformed; ``IntegrityMismatch`` for bad digests.
    """
    kind = classify_put_body(body=body)
    if kind is PutKind.PUBLISH:
        if rev is not None:
            raise InvalidPublish("a publish cannot target a revision URL")
        return parse_publish_body(body=body, url_name=url_name)
    if kind is PutKind.STAR:
        return parse_star_body(body=body, url_name=url_name)
    return parse_metadata_update(body=body, url_name=url_name, rev=rev)


def parse_star_body(*, body: bytes, url_name: str) -> StarUpdate:
    """Parse the body ``npm star`` and ``npm unstar`` PUT to ``/<name>``.

    Raises:
        InvalidPublish: The body is malformed or its ``_id`` names another package.
    """
    document = _load_json_object(body, what="star body")
    if document.get("_id", url_name) != url_name:
        raise InvalidPublish(f"_id {document['_id']!r} does not match the URL {url_name!r}")
    users = document.get("users")
    if not isinstance(users, dict):
        raise InvalidPublish("users must be an object")
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
        InvalidPackage: ``url_name`` is not valid for a new package.
        InvalidPublish: The body is malformed or inconsistent.
        IntegrityMismatch: A digest in ``dist`` does not match the tarball.
    """
    validate_name(name=url_name)
    document = _load_json_object(body, what="publish body")
    _check_body_name(document, url_name=url_name)
    versions = document.get("versions")
    if not isinstance(versions, dict) or len(versions) != 1:
        count = len(versions) if isinstance(versions, dict) else 0
        raise InvalidPublish(f"a publish must contain exactly one version, got {count}")
    ((version, manifest),) = versions.items()
    try:
        validate_version(version=version)
    except InvalidPackage as exc:
        raise InvalidPublish(str(exc)) from exc
    if not isinstance(manifest, dict):
        raise InvalidPublish(f"version {version!r} must be an object")
    if manifest.get("name") != url_name or manifest.get("version") != version:
        raise InvalidPublish(
            f"version document {manifest.get('name')!r}@{manifest.get('version')!r} "
            f"does not match {url_name}@{version}"
        )
    dist_tags = _string_mapping(document.get("dist-tags"), what="dist-tags")
    if not dist_tags:
        raise InvalidPublish("dist-tags must name at least one tag")
    for tag, tagged in dist_tags.items():
        try:
            validate_dist_tag(tag=tag)
        except InvalidPackage as exc:
            raise InvalidPublish(str(exc)) from exc
        if tagged != version:
            raise InvalidPublish(
                f"dist-tag {tag!r} points at {tagged!r}, not the published {version}"
            )
    filename, tarball = _decode_attachment(
        document.get("_attachments"), name=url_name, version=version
    )
    dist = manifest.get("dist")
    if not isinstance(dist, dict):
        raise InvalidPublish("the version has no dist object")
    integrity = dist.get("integrity") or ""
    shasum = dist.get("shasum") or ""
    if not isinstance(integrity, str) or not isinstance(shasum, str):
        raise InvalidPublish("dist.integrity and dist.shasum must be strings")
    if not integrity and not shasum:
        raise InvalidPublish("dist must carry integrity or shasum")
    sha512_hex = hashlib.sha512(tarball).hexdigest()
    sha1_hex = hashlib.sha1(tarball, usedforsecurity=False).hexdigest()
    if shasum and not hmac.compare_digest(shasum.lower(), sha1_hex):
        raise IntegrityMismatch(
            f"dist.shasum {shasum} does not match the tarball's sha1 {sha1_hex}"
        )
    if integrity:
        check_integrity(integrity=integrity, data=tarball)
    readme = document.get("readme", manifest.get("readme", ""))
    access = document.get("access")
    if access not in (None, "public", "restricted"):
        raise InvalidPublish(f"access must be public or restricted, got {access!r}")
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


def _decode_attachment(attachments: object, *, name: str, version: str) -> tuple[str, bytes]:
    if not isinstance(attachments, dict) or len(attachments) != 1:
        count = len(attachments) if isinstance(attachments, dict) else 0
        raise InvalidPublish(f"a publish must contain exactly one attachment, got {count}")
    ((filename, attachment),) = attachments.items()
    # npm 11 names a scoped attachment "@scope/name-1.0.0.tgz"; older clients used the bare name.
    allowed = {f"{name}-{version}.tgz", tarball_filename(name=name, version=version)}
    if filename not in allowed:
        raise InvalidPublish(f"attachment {filename!r} does not match {name}@{version}")
    if not isinstance(attachment, dict) or not isinstance(attachment.get("data"), str):
        raise InvalidPublish(f"attachment {filename!r} has no base64 data")
    try:
        tarball = base64.b64decode(attachment["data"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidPublish(f"attachment {filename!r} is not valid base64: {exc}") from exc
    length = attachment.get("length")
    if length is not None and (isinstance(length, bool) or length != len(tarball)):
        raise InvalidPublish(
            f"attachment {filename!r} declares length {length!r}, "
            f"but its data decodes to {len(tarball)} bytes"
        )
    return filename, tarball


def check_integrity(*, integrity: str, data: bytes) -> None:
    """Verify ``data`` against a Subresource Integrity string such as ``sha512-<base64>``.

    As in SRI, only the strongest algorithm present counts, and any of its hashes may match.

    Raises:
        IntegrityMismatch: No hash of the strongest algorithm matches, or none is recognized.
    """
    entries: dict[str, list[bytes]] = {}
    for token in integrity.split():
        algorithm, _, digest = token.partition("-")
        if algorithm in _SRI_ALGORITHMS:
            try:
                entries.setdefault(algorithm, []).append(base64.b64decode(digest.split("?")[0]))
            except (binascii.Error, ValueError) as exc:
                raise IntegrityMismatch(f"dist.integrity {token!r} is not valid base64") from exc
    if not entries:
        raise IntegrityMismatch(f"dist.integrity {integrity!r} has no supported hash")
    algorithm = max(entries, key=_SRI_ALGORITHMS.__getitem__)
    actual = hashlib.new(algorithm, data).digest()
    if not any(hmac.compare_digest(expected, actual) for expected in entries[algorithm]):
        computed = f"{algorithm}-{base64.b64encode(actual).decode('ascii')}"
        raise IntegrityMismatch(
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
        InvalidPublish: The body is malformed or names another package.
    """
    document = _load_json_object(body, what="metadata body")
    _check_body_name(document, url_name=url_name)
    if document.get("_attachments"):
        raise InvalidPublish("a metadata update cannot carry attachments")
    versions = document.get("versions", {})
    if not isinstance(versions, dict) or not all(isinstance(v, dict) for v in versions.values()):
        raise InvalidPublish("versions must be an object of version documents")
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
        InvalidPublish: The update adds versions, or points a tag at a version it does not keep.
    """
    added = sorted(set(update.versions) - set(current_versions))
    if added:
        raise InvalidPublish(f"versions {', '.join(added)} cannot be added without a tarball")
    deprecated: dict[str, str] = {}
    undeprecated: list[str] = []
    for version, document in update.versions.items():
        # npm deprecate sends "" to clear a message; treat a missing field the same way.
        message = document.get("deprecated") or ""
        if not isinstance(message, str):
            raise InvalidPublish(f"deprecated of {version} must be a string")
        before = current_versions[version] or ""
        if message and message != before:
            deprecated[version] = message
        elif not message and before:
            undeprecated.append(version)
    for tag, version in update.dist_tags.items():
        if version not in update.versions:
            raise InvalidPublish(f"dist-tag {tag!r} points at {version!r}, which is not kept")
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
        InvalidPublish: The body is not a JSON string holding a semver version.
    """
    try:
        version = jsonbody.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidPublish(f"dist-tag body is not valid JSON: {exc}") from exc
    if not isinstance(version, str):
        raise InvalidPublish("dist-tag body must be a JSON string holding a version")
    try:
        return validate_version(version=version)
    except InvalidPackage as exc:
        raise InvalidPublish(str(exc)) from exc


def parse_login_body(*, body: bytes, url_user: str) -> LoginRequest:
    """Parse ``PUT /-/user/org.couchdb.user:<name>`` as ``npm login --auth-type=legacy`` sends it.

    Args:
        body: Raw request body (``{"_id", "name", "password", "type", "roles", "date"}`` plus
            ``email`` for adduser and ``_rev`` on the retry after a 409).
        url_user: The URL segment after ``/-/user/``, with or without ``org.couchdb.user:``.

    Raises:
        InvalidPublish: The body is malformed or names another user.
    """
    document = _load_json_object(body, what="login body")
    user = unquote(url_user).removeprefix(_USER_ID_PREFIX)
    name, password = document.get("name"), document.get("password")
    if not isinstance(name, str) or not name or name != user:
        raise InvalidPublish(f"user name {name!r} does not match the URL {user!r}")
    if not isinstance(password, str) or not password:
        raise InvalidPublish("password is required")
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
        InvalidPublish: The body is malformed, lacks the password or asks for a CIDR limit.
    """
    document = _load_json_object(body, what="token body")
    password = document.get("password")
    if not isinstance(password, str) or not password:
        raise InvalidPublish("password is required to create a token")
    if document.get("cidr_whitelist"):
        raise InvalidPublish("CIDR whitelists are not supported by this registry")
    name = document.get("name")
    readonly = document.get("readonly")
    expires = document.get("expires")
    if readonly is not None and not isinstance(readonly, bool):
        raise InvalidPublish("readonly must be true or false")
    if expires is not None and (
        isinstance(expires, bool) or not isinstance(expires, int) or expires <= 0
    ):
        raise InvalidPublish("expires must be a positive number of days")
    return TokenCreateRequest(
        password=password,
        name=name if isinstance(name, str) else "",
        readonly=readonly,
        expires_days=expires,
    )


def _member_parts(member: tarfile.TarInfo) -> list[str]:
    name = member.name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise InvalidTarball(f"tarball member {member.name!r} has an absolute path")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise InvalidTarball(f"tarball member {member.name!r} escapes the package directory")
    return parts


def read_tarball_manifest(
    *,
    source: str | os.PathLike[str] | IO[bytes],
    max_member_size: int = DEFAULT_MAX_MEMBER_SIZE,
    max_total_size: int = DEFAULT_MAX_TOTAL_SIZE,
    max_members: int = DEFAULT_MAX_MEMBERS,
    max_readme_size: int = DEFAULT_MAX_README_SIZE,
) -> TarballContents:
    """Read ``package.json`` and the README from a package tarball, without extracting it.

    The tarball is read as a stream. Like npm, the first path component is taken as the package
    directory whatever its name (``package/`` in everything ``npm pack`` makes). Every member
    name is checked, even of files never read, so a tarball that could escape its directory is
    refused here rather than by whatever unpacks it later.

    Args:
        source: Path or binary file object of a gzip-compressed tar.
        max_member_size: Largest allowed size of any member.
        max_total_size: Largest allowed sum of member sizes (bounds gzip bombs).
        max_members: Largest allowed number of members.
        max_readme_size: README bytes beyond this are dropped.

    Returns:
        The parsed manifest and README.

    Raises:
        InvalidTarball: Not a gzip tar, an unsafe or oversized member, or no valid package.json.
    """
    manifests: dict[str, bytes] = {}
    readmes: dict[str, dict[str, bytes]] = {}
    files: dict[str, set[str]] = {}
    total = count = file_count = 0
    try:
        source_kwargs: dict[str, Any] = (
            {"name": os.fspath(source)}
            if isinstance(source, str | os.PathLike)
            else {"fileobj": source}
        )
        with tarfile.open(mode="r|gz", **source_kwargs) as archive:
            for member in archive:
                count += 1
                if count > max_members:
                    raise InvalidTarball(f"tarball has more than {max_members} members")
                parts = _member_parts(member)
                if member.size > max_member_size:
                    raise InvalidTarball(
                        f"tarball member {member.name!r} is {member.size} bytes, "
                        f"over the limit of {max_member_size}"
                    )
                total += member.size
                if total > max_total_size:
                    raise InvalidTarball(f"tarball unpacks to more than {max_total_size} bytes")
                if not member.isfile():
                    continue  # npm ignores links and devices when it unpacks
                file_count += 1
                if len(parts) > 1:
                    files.setdefault(parts[0], set()).add("/".join(parts[1:]))
                if len(parts) != 2:
                    continue
                root, filename = parts
                if filename == "package.json" and root not in manifests:
                    manifests[root] = _read_member(archive, member, limit=member.size)
                elif _README.match(filename):
                    readmes.setdefault(root, {})[filename] = _read_member(
                        archive, member, limit=max_readme_size
                    )
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise InvalidTarball(f"not a readable gzip tarball: {exc}") from exc
    if not manifests:
        raise InvalidTarball("tarball has no package.json in its top directory")
    root, raw = next(iter(manifests.items()))
    try:
        manifest = jsonbody.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidTarball(f"{root}/package.json is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise InvalidTarball(f"{root}/package.json must be a JSON object")
    readme_filename, readme = _pick_readme(readmes.get(root, {}))
    return TarballContents(
        manifest=manifest,
        readme=readme,
        readme_filename=readme_filename,
        root=root,
        file_count=file_count,
        unpacked_size=total,
        files=frozenset(files.get(root, ())),
    )


def _read_member(archive: tarfile.TarFile, member: tarfile.TarInfo, *, limit: int) -> bytes:
    handle = archive.extractfile(member)
    return b"" if handle is None else handle.read(limit)


def _pick_readme(candidates: Mapping[str, bytes]) -> tuple[str, str]:
    if not candidates:
        return "", ""

    def rank(filename: str) -> tuple[int, str]:
        extension = os.path.splitext(filename)[1].lower()
        return _README_PREFERENCE.get(extension, len(_README_PREFERENCE)), filename

    filename = min(candidates, key=rank)
    return filename, candidates[filename].decode("utf-8", errors="replace")


def _normalize_version(version: object) -> object:
    # npm's own publish runs package.json's version through semver.clean ("v1.0.0" -> "1.0.0").
    return version.strip().lstrip("=v").strip() if isinstance(version, str) else version


def check_manifest_matches(*, contents: TarballContents, publish: PublishRequest) -> None:
    """Refuse a tarball whose package.json names another package or version than the body.

    Raises:
        InvalidPublish: Name or version differ.
    """
    name = contents.manifest.get("name")
    version = _normalize_version(contents.manifest.get("version"))
    if name != publish.name or version != publish.version:
        raise InvalidPublish(
            f"tarball package.json is {name!r}@{version!r}, "
            f"but the publish is for {publish.name}@{publish.version}"
        )


def format_time(value: datetime) -> str:
    """Format a timezone-aware datetime as npm does: UTC, milliseconds, ``Z``.

    Raises:
        ValueError: ``value`` is naive.
    """
    if value.tzinfo is None:
        raise ValueError("npm times must be timezone-aware")
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def parse_time(value: str) -> datetime:
    """Parse a time written by ``format_time`` back into an aware datetime.

    Raises:
        ValueError: ``value`` is not in that form.
    """
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_js_date(value: datetime) -> str:
    """Format an aware datetime as JavaScript's ``Date.toString()`` in UTC.

    The public registry puts this form in the search answer's ``time``; built by hand so the
    result never depends on the process locale.

    Raises:
        ValueError: ``value`` is naive.
    """
    if value.tzinfo is None:
        raise ValueError("npm times must be timezone-aware")
    utc = value.astimezone(UTC)
    return (
        f"{_WEEKDAYS[utc.weekday()]} {_MONTHS[utc.month - 1]} {utc.day:02d} {utc.year} "
        f"{utc:%H:%M:%S} GMT+0000 (Coordinated Universal Time)"
    )


def _has_install_script(manifest: Mapping[str, Any]) -> bool:
    if manifest.get("hasInstallScript") is True:
        return True
    scripts = manifest.get("scripts")
    return isinstance(scripts, dict) and any(scripts.get(s) for s in INSTALL_SCRIPTS)


def _version_document(
    *, name: str, record: Mapping[str, Any], tarball_base_url: str
) -> dict[str, Any]:
    version = record["version"]
    document = {
        key: value
        for key, value in record.get("manifest", {}).items()
        # READMEs live once at the top; _attachments and _rev never belong in a version.
        if key not in ("readme", "readmeFilename", "_attachments", "_rev", "dist", "deprecated")
    }
    dist: dict[str, Any] = {
        "integrity": record["integrity"],
        "shasum": record["shasum"],
        "tarball": f"{tarball_base_url.rstrip('/')}/{tarball_path(name=name, version=version)}",
    }
    for source_key, dist_key in (("file_count", "fileCount"), ("unpacked_size", "unpackedSize")):
        if record.get(source_key) is not None:
            dist[dist_key] = record[source_key]
    document.update(name=name, version=version, _id=f"{name}@{version}", dist=dist)
    if _has_install_script(document):
        document["hasInstallScript"] = True
    if record.get("deprecated"):
        document["deprecated"] = record["deprecated"]
    return document


def build_version_document(
    *, name: str, record: Mapping[str, Any], tarball_base_url: str
) -> dict[str, Any]:
    """Build the document of one version (``GET /<name>/<version>``), as in the packument.

    Args:
        name: Package name.
        record: One version record, as in ``build_packument``'s ``versions``.
        tarball_base_url: As for ``build_packument``.
    """
    return _version_document(name=name, record=record, tarball_base_url=tarball_base_url)


def _latest(versions: Sequence[Mapping[str, Any]], dist_tags: Mapping[str, str]) -> Mapping:
    by_version = {record["version"]: record for record in versions}
    if dist_tags.get("latest") in by_version:
        return by_version[dist_tags["latest"]]
    return max(versions, key=lambda record: record["published_at"]) if versions else {}


def build_packument(
    *,
    name: str,
    versions: Sequence[Mapping[str, Any]],
    dist_tags: Mapping[str, str],
    tarball_base_url: str,
    created: datetime,
    modified: datetime,
    rev: str | None = None,
    readme: str = "",
    readme_filename: str = "",
    maintainers: Sequence[Mapping[str, str]] = (),
    users: Mapping[str, bool] | None = None,
) -> dict[str, Any]:
    """Build the full package document served for ``GET /<name>`` with ``Accept: application/json``.

    Args:
        name: Package name.
        versions: One dict per version with keys ``version``, ``manifest`` (the published
            version document), ``integrity``, ``shasum``, ``published_at`` (aware datetime) and
            optionally ``deprecated``, ``file_count``, ``unpacked_size``.
        dist_tags: Tag -> version.
        tarball_base_url: Absolute URL of the registry root the client uses
            (``http://host/repository/npm/``); tarball URLs are built under it.
        created: When the package was first published.
        modified: When the package last changed.
        rev: Document revision. ``npm unpublish`` and ``npm deprecate`` echo it back in
            ``/-rev/<rev>`` URLs, so serve one whenever the request has ``?write=true``.
        readme: README of the latest version; truncated to 64 KiB as the public registry does.
        readme_filename: File the README came from.
        maintainers: ``[{"name", "email"}]``.
        users: Who starred the package (``{"alice": true}``), as the public registry lists it.

    Returns:
        A JSON-serializable dict.
    """
    latest_manifest = _latest(versions, dist_tags).get("manifest", {})
    document: dict[str, Any] = {"_id": name}
    if rev is not None:
        document["_rev"] = rev
    document["name"] = name
    document.update({key: latest_manifest[key] for key in HOISTED_FIELDS if key in latest_manifest})
    document["dist-tags"] = dict(dist_tags)
    document["versions"] = {
        record["version"]: _version_document(
            name=name, record=record, tarball_base_url=tarball_base_url
        )
        for record in versions
    }
    time = {"created": format_time(created), "modified": format_time(modified)}
    time.update({record["version"]: format_time(record["published_at"]) for record in versions})
    document["time"] = time
    document["maintainers"] = [dict(m) for m in maintainers]
    document["readme"] = readme[:MAX_PACKUMENT_README_CHARS]
    if readme_filename:
        document["readmeFilename"] = readme_filename
    if users:
        document["users"] = dict(users)
    return document


def build_abbreviated_packument(
    *,
    name: str,
    versions: Sequence[Mapping[str, Any]],
    dist_tags: Mapping[str, str],
    tarball_base_url: str,
    modified: datetime,
) -> dict[str, Any]:
    """Build the install-only document for ``Accept: application/vnd.npm.install-v1+json``.

    Args:
        name: Package name.
        versions: As for ``build_packument``.
        dist_tags: Tag -> version.
        tarball_base_url: As for ``build_packument``.
        modified: When the package last changed.

    Returns:
        A JSON-serializable dict with ``name``, ``modified``, ``dist-tags`` and ``versions``.
    """
    abbreviated: dict[str, dict[str, Any]] = {}
    for record in versions:
        full = _version_document(name=name, record=record, tarball_base_url=tarball_base_url)
        abbreviated[record["version"]] = {
            key: full[key] for key in ABBREVIATED_VERSION_FIELDS if key in full
        }
    return {
        "name": name,
        "modified": format_time(modified),
        "dist-tags": dict(dist_tags),
        "versions": abbreviated,
    }


def parse_search_query(*, params: Mapping[str, str]) -> SearchQuery:
    """Read ``text``, ``size`` and ``from`` of ``GET /-/v1/search``; npm's weights are ignored.

    Raises:
        InvalidPackage: ``size`` or ``from`` is not a non-negative integer.
    """
    try:
        size = int(params.get("size", DEFAULT_SEARCH_SIZE))
        offset = int(params.get("from", 0))
    except ValueError as exc:
        raise InvalidPackage("search size and from must be integers") from exc
    if size < 0 or offset < 0:
        raise InvalidPackage("search size and from must not be negative")
    return SearchQuery(
        text=params.get("text", "").strip(),
        size=min(size, MAX_SEARCH_SIZE),
        offset=min(offset, MAX_SEARCH_OFFSET),
    )


def build_search_results(
    *, hits: Sequence[Mapping[str, Any]], total: int, now: datetime
) -> dict[str, Any]:
    """Build the ``GET /-/v1/search`` answer.

    Args:
        hits: One dict per package with ``name``, ``version``, ``date`` (aware datetime) and
            optionally ``description``, ``keywords``, ``links``, ``publisher``
            (``{"username", "email"}``), ``maintainers`` and ``score`` (0..1, default 1).
        total: Number of matches before paging.
        now: Time of the answer.

    Returns:
        ``{"objects": [...], "total": ..., "time": ...}`` as the public registry shapes it.
    """
    objects = []
    for hit in hits:
        score = float(hit.get("score", 1.0))
        package: dict[str, Any] = {
            "name": hit["name"],
            "version": hit["version"],
            "description": hit.get("description") or "",
            "keywords": list(hit.get("keywords") or []),
            "date": format_time(hit["date"]),
            "links": dict(hit.get("links") or {}),
            "publisher": dict(hit.get("publisher") or {}),
            "maintainers": [dict(m) for m in hit.get("maintainers") or []],
        }
        objects.append(
            {
                "package": package,
                "score": {
                    "final": score,
                    "detail": {"quality": score, "popularity": score, "maintenance": score},
                },
                "searchScore": score,
            }
        )
    return {"objects": objects, "total": total, "time": format_js_date(now)}


def empty_audit_bulk() -> dict[str, Any]:
    """Answer for ``POST /-/npm/v1/security/advisories/bulk``: no advisories for any package."""
    return {}


def empty_audit_quick() -> dict[str, Any]:
    """Answer for ``POST /-/npm/v1/security/audits/quick`` in the npm 6 report shape, all zero."""
    return {
        "actions": [],
        "advisories": {},
        "muted": [],
        "metadata": {
            "vulnerabilities": {"info": 0, "low": 0, "moderate": 0, "high": 0, "critical": 0},
            "dependencies": 0,
            "devDependencies": 0,
            "optionalDependencies": 0,
            "totalDependencies": 0,
        },
    }
