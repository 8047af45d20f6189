"""npm package names, versions and dist-tags, and the registry paths built from them.

Implements validate-npm-package-name 7 (https://github.com/npm/validate-npm-package-name),
semver 2.0.0 (https://semver.org/) for published versions, and npm's refusal of dist-tags that
are valid semver ranges (``npm help dist-tag``, CAVEATS; npm/npm#6082). Pure: no Django.
"""

import re
from urllib.parse import unquote

# node-semver ships no type information.
from nodesemver import valid_range  # type: ignore[import-untyped]

from formats.npm.errors import PackageInvalid

MAX_NAME_LENGTH = 214

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

# encodeURIComponent leaves exactly these characters alone.
_URL_SAFE = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+$")
_SPECIAL = re.compile(r"[~'!()*]")
# semver.org's reference grammar; npm only accepts versions that parse this way.
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


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
        PackageInvalid: The name breaks a rule; the message says which.
    """
    problems = _name_errors(name)
    if new_package and isinstance(name, str):
        problems += _name_warnings(name)
    if problems:
        raise PackageInvalid(f"invalid package name {name!r}: {'; '.join(problems)}")
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
        PackageInvalid: ``name`` starts with ``@`` but is not ``@scope/name``.
    """
    scope, bare = _split(name)
    if scope is None and name.startswith("@"):
        raise PackageInvalid(f"invalid package name {name!r}: a scoped name is @scope/name")
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
        PackageInvalid: The decoded name is not a valid npm name.
    """
    name = unquote(segment)
    return validate_name(name=name, new_package=new_package)


def validate_version(*, version: str) -> str:
    """Check that ``version`` is a strict semver version, as npm publishes them.

    Raises:
        PackageInvalid: ``version`` is not ``MAJOR.MINOR.PATCH[-pre][+build]``.
    """
    if not isinstance(version, str) or not _SEMVER.match(version):
        raise PackageInvalid(f"invalid version {version!r}: not a semver version")
    return version


def validate_dist_tag(*, tag: str) -> str:
    """Check a dist-tag name.

    npm refuses a tag that ``semver.validRange`` accepts (``1.0.0``, ``v2``, ``1.x``, ``~1.2``,
    ``*``): ``npm install name@1.x`` resolves it as a range, so such a tag could never be
    installed by name ("Tags that can be interpreted as valid semver ranges will be rejected",
    ``npm help dist-tag``; npm/npm#6082).

    Raises:
        PackageInvalid: The tag is empty, not URL-safe, or a valid semver range.
    """
    if not isinstance(tag, str) or not tag or not _URL_SAFE.match(tag):
        raise PackageInvalid(f"invalid dist-tag {tag!r}: must be a non-empty URL-safe string")
    if valid_range(tag, loose=False) is not None:
        raise PackageInvalid(f"invalid dist-tag {tag!r}: a tag cannot be a valid semver range")
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
        PackageInvalid: ``filename`` is not ``<bare name>-<semver>.tgz``.
    """
    _, bare = split_name(name=name)
    prefix = f"{bare}-"
    if not filename.startswith(prefix) or not filename.endswith(".tgz"):
        raise PackageInvalid(f"tarball {filename!r} does not belong to package {name!r}")
    return validate_version(version=filename[len(prefix) : -len(".tgz")])
