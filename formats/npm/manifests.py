"""What a version installs, read from its tarball's package.json rather than the publish body.

"Manifest confusion" (npm, 2023): the public registry serves the version document that the
publish body carries, and npm installs what that document says (dependencies, install
scripts, bins) while the tarball's own package.json may say something else; a crafted body can
hide an install script or a dependency from anyone who reads the code. Refusing a body that
disagrees would also refuse honest ones, because npm normalizes package.json before it sends
it (``@npmcli/package-json`` ``fix`` then ``prepare``: a string ``bin`` becomes an object, a
``binding.gyp`` adds ``node-gyp rebuild``...). So the registry keeps the body for what people
read (description, repository, gitHead) and builds every field that changes what an install
does from the tarball, normalized by the same steps npm 11 applies at publish; an honest
publish is served exactly as npm sent it, a dishonest one as its tarball says.
"""

import posixpath
import re
from collections.abc import Collection, Mapping
from typing import Any

# Fields npm (arborist, pacote, bin-links) acts on when it installs a version.
INSTALL_FIELDS = (
    "dependencies",
    "optionalDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "bundleDependencies",
    "devDependencies",
    "acceptDependencies",
    "scripts",
    "bin",
    "engines",
    "os",
    "cpu",
    "libc",
    "gypfile",
)
# Never taken from a body: pacote renames bundledDependencies, and the flags below make npm
# skip (or fetch) the install scripts and the shrinkwrap; the registry derives them itself.
BODY_ONLY_FIELDS_DROPPED = ("bundledDependencies", "hasInstallScript", "_hasShrinkwrap")
SHRINKWRAP = "npm-shrinkwrap.json"

_SCRIPT_BIN_PREFIX = re.compile(r"^(\.[/\\])?node_modules[/\\].bin[\\/]")
_DEPENDENCY_LIST_SEPARATOR = re.compile(r"[\n\r\s\t ,]+")
_DEPENDENCY_SPEC_SEPARATOR = re.compile(r"(:?[@\s><=])")


def _unixify(ref: str) -> str:
    return re.sub(r"[\\:]", "/", ref)


def _node_normalize(path: str) -> str:
    # Node's path.normalize keeps a trailing slash and never a leading "//".
    normalized = posixpath.normpath(path)
    if normalized.startswith("//"):
        normalized = "/" + normalized.lstrip("/")
    if path.endswith("/") and not normalized.endswith("/"):
        normalized += "/"
    return normalized


def _secure_path(ref: str) -> str:
    """``secureAndUnixifyPath``: the path made relative, with no way out of the package."""
    inner = _node_normalize("/" + _unixify(ref))
    secured = _unixify(_node_normalize("./" + inner))
    return "" if secured.startswith("./") else secured


def _normalized_bin(name: object, value: object) -> dict[str, str] | None:
    if isinstance(value, str) and value and isinstance(name, str) and name:
        value = {name: value}
    elif isinstance(value, list) and value:
        value = {posixpath.basename(ref): ref for ref in value if isinstance(ref, str)}
    if not isinstance(value, dict) or not value:
        return None
    bins: dict[str, str] = {}
    for key, target in value.items():
        base = posixpath.basename(_secure_path(key).rstrip("/")) if isinstance(target, str) else ""
        secured = _secure_path(target) if base else ""
        if secured:
            bins[base] = secured
    return bins or None


def _bin_directory(directory: str, files: Collection[str]) -> dict[str, str]:
    # The "binDir" step: glob("**") below directories.bin, which finds folders too.
    prefix = _secure_path(directory).rstrip("/")
    entries: set[str] = set()
    for path in files:
        if not path.startswith(prefix + "/"):
            continue
        parts = path[len(prefix) + 1 :].split("/")
        if not any(part.startswith(".") or not part for part in parts):
            entries.update("/".join(parts[:end]) for end in range(1, len(parts) + 1))
    return {posixpath.basename(entry): f"{prefix}/{_secure_path(entry)}" for entry in entries}


def _dependency_object(value: object) -> object:
    # "fixDependencies": "a b" and ["a@1"] are old spellings of {"a": "", "b": ""} and {"a": "1"}.
    if isinstance(value, str) and value:  # npm leaves "" alone (and then drops it)
        value = _DEPENDENCY_LIST_SEPARATOR.split(value.strip())
    if not isinstance(value, list):
        return value
    converted = {}
    for entry in value:
        if isinstance(entry, str):
            name, *rest = _DEPENDENCY_SPEC_SEPARATOR.split(entry.strip())
            converted[name] = "".join(rest).removeprefix("@").strip()
    return converted


def _scripts(value: object) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    return {
        name: _SCRIPT_BIN_PREFIX.sub("", script)
        for name, script in value.items()
        if isinstance(script, str)
    }


def install_fields(*, package_json: Mapping[str, Any], files: Collection[str]) -> dict[str, Any]:
    """Return the install-relevant fields of a tarball's package.json as npm 11 publishes them.

    Ports the steps of ``@npmcli/package-json`` (``fix``, then ``prepare``) that change
    INSTALL_FIELDS: bin and ``directories.bin``, the gyp and server.js scripts, scripts
    cleanup, bundleDependencies, and the old string/array dependency forms. Git shortcuts
    (``github:user/repo``) stay as written: npm resolves them exactly as the long form.

    Args:
        package_json: The tarball's package.json as parsed.
        files: Paths of the tarball's regular files, relative to its top directory.

    Returns:
        Each field of INSTALL_FIELDS the package has, plus ``_hasShrinkwrap`` when the
        tarball carries an npm-shrinkwrap.json.
    """
    data = {key: package_json[key] for key in INSTALL_FIELDS if key in package_json}
    if "bundleDependencies" not in data and "bundledDependencies" in package_json:
        data["bundleDependencies"] = package_json["bundledDependencies"]
    scripts = _scripts(data.pop("scripts", None))
    bins = _normalized_bin(package_json.get("name"), data.pop("bin", None))
    directories = package_json.get("directories")
    bin_directory = directories.get("bin") if isinstance(directories, dict) else None
    if bins is None and isinstance(bin_directory, str) and bin_directory:
        bins = _bin_directory(bin_directory, files)
    if bins is not None:
        data["bin"] = bins
    top_level = {path for path in files if "/" not in path}
    scripts_or_empty = scripts or {}
    if (
        not scripts_or_empty.get("install")
        and not scripts_or_empty.get("preinstall")
        and data.get("gypfile") is not False
        and any(path.endswith(".gyp") for path in top_level)
    ):
        scripts = {**scripts_or_empty, "install": "node-gyp rebuild"}
        data["gypfile"] = True
    if not (scripts or {}).get("start") and "server.js" in top_level:
        scripts = {**(scripts or {}), "start": "node server.js"}
    if scripts is not None:
        data["scripts"] = scripts
    for kind in ("dependencies", "devDependencies", "optionalDependencies"):
        if kind in data:
            data[kind] = _dependency_object(data[kind])
    for kind in ("dependencies", "devDependencies"):
        if kind in data and not isinstance(data[kind], dict):
            del data[kind]
        elif kind in data:
            data[kind] = {name: spec for name, spec in data[kind].items() if isinstance(spec, str)}
    _bundle(data)
    if SHRINKWRAP in top_level:
        data["_hasShrinkwrap"] = True
    return data


def _bundle(data: dict[str, Any]) -> None:
    bundled = data.get("bundleDependencies")
    if bundled is False:
        bundled = []
    elif bundled is True:
        dependencies = data.get("dependencies")
        bundled = list(dependencies) if isinstance(dependencies, dict) else []
    elif isinstance(bundled, dict):
        bundled = list(bundled)
    if not isinstance(bundled, list):
        data.pop("bundleDependencies", None)
        return
    bundled = [name for name in bundled if isinstance(name, str) and name]
    data["bundleDependencies"] = bundled
    for name in bundled:  # a bundled package is a dependency, whatever the author wrote
        data.setdefault("dependencies", {}).setdefault(name, "*")


def version_manifest(
    *, body: Mapping[str, Any], package_json: Mapping[str, Any], files: Collection[str]
) -> dict[str, Any]:
    """Return the version document to store: the body's, with every install field the tarball's.

    Args:
        body: The version document of the publish body.
        package_json: The tarball's package.json.
        files: As for ``install_fields``.
    """
    dropped = (*INSTALL_FIELDS, *BODY_ONLY_FIELDS_DROPPED)
    kept = {key: value for key, value in body.items() if key not in dropped}
    return kept | install_fields(package_json=package_json, files=files)
