"""Package tarballs as ``npm pack`` makes them: package.json and README, read without extracting.

Follows how npm (pacote and tar) reads a package: gzip tar, first path component is the package
directory (https://docs.npmjs.com/cli/v11/configuring-npm/package-json), members that could escape
it refused. Pure: no Django.
"""

import json
import os
import re
import tarfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from formats.npm.bodies import PublishRequest
from formats.npm.errors import PublishInvalid
from registry_project import jsonbody

DEFAULT_MAX_MEMBER_SIZE = 64 * 1024 * 1024
DEFAULT_MAX_TOTAL_SIZE = 512 * 1024 * 1024
DEFAULT_MAX_MEMBERS = 100_000
DEFAULT_MAX_README_SIZE = 1024 * 1024

_README = re.compile(r"^readme(\.[A-Za-z0-9]+)?$", re.IGNORECASE)
_README_PREFERENCE = {".md": 0, ".markdown": 1, "": 2, ".txt": 3}


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


def _member_parts(member: tarfile.TarInfo) -> list[str]:
    name = member.name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise PublishInvalid(f"tarball member {member.name!r} has an absolute path")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise PublishInvalid(f"tarball member {member.name!r} escapes the package directory")
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
        PublishInvalid: Not a gzip tar, an unsafe or oversized member, or no valid package.json.
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
                    raise PublishInvalid(f"tarball has more than {max_members} members")
                parts = _member_parts(member)
                if member.size > max_member_size:
                    raise PublishInvalid(
                        f"tarball member {member.name!r} is {member.size} bytes, "
                        f"over the limit of {max_member_size}"
                    )
                total += member.size
                if total > max_total_size:
                    raise PublishInvalid(f"tarball unpacks to more than {max_total_size} bytes")
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
        raise PublishInvalid(f"not a readable gzip tarball: {exc}") from exc
    if not manifests:
        raise PublishInvalid("tarball has no package.json in its top directory")
    root, raw = next(iter(manifests.items()))
    try:
        manifest = jsonbody.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PublishInvalid(f"{root}/package.json is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise PublishInvalid(f"{root}/package.json must be a JSON object")
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
        PublishInvalid: Name or version differ.
    """
    name = contents.manifest.get("name")
    version = _normalize_version(contents.manifest.get("version"))
    if name != publish.name or version != publish.version:
        raise PublishInvalid(
            f"tarball package.json is {name!r}@{version!r}, "
            f"but the publish is for {publish.name}@{publish.version}"
        )
