"""Bulk-load a synthetic registry for bench/scale.py, through the model's own tables.

Run by bench/scale.py in the environment of one of its servers (``DATABASE_URL`` and
``REGISTRY_VAR_DIR`` set): ``python bench/scale_data.py --versions N --packages P --npm-versions
... --pypi-files ... --oci-tags ... --maven-versions ...``. It expects the repositories ``npm``,
``pypi``, ``oci`` and ``maven`` to exist (bench/scale.py creates them with ``manage.py``).

The hot packages the benchmark reads (``big-npm``, ``big-pypi``, ``oci/big``,
``com.example:big``) get their generated documents from the formats' own rebuild services, as a
publish would leave them. The rest of the versions are spread over filler packages of every
format, written with ``bulk_create``; their files share a few real blobs, so the blob store
stays small while the tables reach the requested size. Prints what it loaded and how long each
step took, as ``key=value`` lines.

With ``--mix N`` it loads nothing: it gives N filler packages of npm and PyPI their generated
documents and prints the pull mix bench/mixed.py replays, one ``format<TAB>path<TAB>Accept``
line per request.
"""

import argparse
import base64
import io
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_project.settings.base")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from formats.maven.media import MIME_DEFAULT, MIME_JAVA_ARCHIVE, media_type_for  # noqa: E402
from formats.maven.services import maven_metadata_rebuild  # noqa: E402
from formats.models import Asset, Document, Package, Repository, Tag, Version  # noqa: E402
from formats.npm.names import tarball_path  # noqa: E402
from formats.npm.services import npm_documents_rebuild  # noqa: E402
from formats.oci.models import OciManifest, OciManifestReference  # noqa: E402
from formats.oci.names import parse_digest  # noqa: E402
from formats.oci.selectors import OciImage  # noqa: E402
from formats.oci.services import oci_blob_push, oci_manifest_put  # noqa: E402
from formats.pypi.names import DIST_MEDIA_TYPES  # noqa: E402
from formats.pypi.services import (  # noqa: E402
    ASSET_KIND_DISTRIBUTION,
    pypi_index_documents_rebuild,
    pypi_project_documents_rebuild,
)
from formats.services import package_lock  # noqa: E402
from storage.models import Blob  # noqa: E402
from storage.services import blob_ingest  # noqa: E402

BATCH = 5000
FORMATS = ("npm", "pypi", "maven", "oci")
OCI_MANIFESTS = 100  # distinct manifests the big image's tags point at
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
SNAPSHOTS = 5  # SNAPSHOT versions of the Maven artifact, each with BUILDS timestamped builds
BUILDS = 3


@contextmanager
def step(name: str) -> Iterator[None]:
    """Print how long the step ``name`` took, as ``load_<name>_s=<seconds>``."""
    started = time.monotonic()
    yield
    print(f"load_{name}_s={time.monotonic() - started:.2f}", flush=True)


def blob_of(content: bytes) -> Blob:
    """Store ``content`` (sha1/md5 too, as Maven and PyPI serve them) and return its Blob."""
    return blob_ingest(stream=io.BytesIO(content), algorithms=("sha1", "md5", "sha512"))


def _versions(package: Package, names: list[str], metadata: dict) -> list[Version]:
    rows = [Version(package=package, version=name, metadata=metadata) for name in names]
    return Version.objects.bulk_create(rows, batch_size=BATCH)


def load_npm(repository: Repository, *, versions: int, blob: Blob) -> None:
    """The package ``big-npm`` with ``versions`` versions, latest on the last one."""
    package = Package.objects.create(
        repository=repository, name="big-npm", normalized_name="big-npm"
    )
    names = [f"1.{number // 1000}.{number % 1000}" for number in range(versions)]
    rows = _versions(package, names, {})
    for version in rows:
        version.metadata = {
            "manifest": {"name": package.name, "version": version.version, "description": "x"},
            "integrity": "sha512-" + base64.b64encode(bytes.fromhex(blob.sha512)).decode(),
            "shasum": blob.sha1 or "",
        }
    Version.objects.bulk_update(rows, ["metadata"], batch_size=BATCH)
    Asset.objects.bulk_create(
        [
            Asset(
                repository=repository,
                version=version,
                path=tarball_path(name=package.name, version=version.version),
                blob=blob,
                media_type="application/octet-stream",
            )
            for version in rows
        ],
        batch_size=BATCH,
    )
    Tag.objects.create(package=package, name="latest", version=rows[-1])
    with transaction.atomic():
        npm_documents_rebuild(package=package_lock(package=package))


def load_pypi(repository: Repository, *, files: int, blob: Blob) -> None:
    """The project ``big-pypi`` with ``files`` files: a wheel and an sdist per version."""
    package = Package.objects.create(
        repository=repository, name="big-pypi", normalized_name="big-pypi"
    )
    rows = _versions(package, [f"1.0.{number}" for number in range((files + 1) // 2)], {})
    assets = []
    for version in rows:
        for filename in (
            f"big_pypi-{version.version}-py3-none-any.whl",
            f"big_pypi-{version.version}.tar.gz",
        )[: files - len(assets)]:
            assets.append(
                Asset(
                    repository=repository,
                    version=version,
                    path=f"packages/big-pypi/{version.version}/{filename}",
                    blob=blob,
                    media_type=DIST_MEDIA_TYPES["whl" if filename.endswith(".whl") else "tar.gz"],
                    metadata={"kind": ASSET_KIND_DISTRIBUTION, "filename": filename},
                )
            )
    Asset.objects.bulk_create(assets, batch_size=BATCH)
    pypi_project_documents_rebuild(package=package)


def load_maven(repository: Repository, *, versions: int, blob: Blob) -> None:
    """``com.example:big``: ``versions`` releases (jar + pom) and SNAPSHOT builds."""
    name = "com.example:big"
    package = Package.objects.create(repository=repository, name=name, normalized_name=name)
    folder = "com/example/big"
    releases = _versions(package, [f"1.{number}" for number in range(versions)], {})
    assets = [
        Asset(
            repository=repository,
            version=version,
            path=f"{folder}/{version.version}/big-{version.version}.{extension}",
            blob=blob,
            media_type=media_type_for(extension=extension),
            metadata={"classifier": None, "extension": extension},
        )
        for version in releases
        for extension in ("jar", "pom")
    ]
    snapshots = _versions(package, [f"2.{number}-SNAPSHOT" for number in range(SNAPSHOTS)], {})
    for version in snapshots:
        base = version.version.removesuffix("-SNAPSHOT")
        for build in range(1, BUILDS + 1):
            stamp = f"20260101.{build:06d}"
            for extension in ("jar", "pom"):
                assets.append(
                    Asset(
                        repository=repository,
                        version=version,
                        path=f"{folder}/{version.version}/big-{base}-{stamp}-{build}.{extension}",
                        blob=blob,
                        media_type=media_type_for(extension=extension),
                        metadata={
                            "classifier": None,
                            "extension": extension,
                            "timestamp": stamp,
                            "build_number": build,
                        },
                    )
                )
    Asset.objects.bulk_create(assets, batch_size=BATCH)
    for version in snapshots:
        with transaction.atomic():
            maven_metadata_rebuild(
                repository=repository, package=package_lock(package=package), version=version
            )


def _oci_push(image: OciImage, number: int, layer: bytes) -> str:
    """Push a small image (its own config, a shared layer) by digest; return the digest."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "n": number}).encode()
    descriptors = []
    for content, media_type in ((config, CONFIG_TYPE), (layer, LAYER_TYPE)):
        blob = blob_of(content)
        digest = parse_digest(f"sha256:{blob.sha256}")
        oci_blob_push(image=image, digest=digest, stream=io.BytesIO(content))
        descriptors.append({"mediaType": media_type, "digest": str(digest), "size": len(content)})
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": descriptors[0],
            "layers": descriptors[1:],
        }
    ).encode()
    manifest, _ = oci_manifest_put(
        image=image, reference=f"seed-{number}", raw=raw, content_type=MANIFEST_TYPE, user=None
    )
    return manifest.digest


def load_oci(repository: Repository, *, tags: int, layer: bytes) -> OciManifest:
    """The image ``oci/big`` with ``tags`` tags over OCI_MANIFESTS manifests; return one."""
    image = OciImage(repository=repository, name="big")
    for number in range(min(OCI_MANIFESTS, tags)):
        _oci_push(image, number, layer)
    package = Package.objects.get(repository=repository, normalized_name="big")
    versions = list(Version.objects.filter(package=package).order_by("pk"))
    Tag.objects.filter(package=package).delete()
    Tag.objects.bulk_create(
        [
            Tag(
                package=package,
                name=f"build-{number:06d}",
                version=versions[number % len(versions)],
            )
            for number in range(tags)
        ],
        batch_size=BATCH,
    )
    return OciManifest.objects.filter(package=package).first()


def _filler_asset(package: Package, version: Version, blob: Blob, fmt: str) -> Asset:
    artifact, number = package.name.partition(":")[2], version.version
    paths = {
        "npm": tarball_path(name=package.name, version=version.version),
        "pypi": f"packages/{package.normalized_name}/{version.version}/{package.name}.whl",
        "maven": f"com/example/filler/{artifact}/{number}/{artifact}-{number}.jar",
    }
    # The types the formats store them with (npm's tarballs: the model's default).
    media_types = {"pypi": DIST_MEDIA_TYPES["whl"], "maven": MIME_JAVA_ARCHIVE}
    return Asset(
        repository=package.repository,
        version=version,
        path=paths[fmt],
        blob=blob,
        media_type=media_types.get(fmt, MIME_DEFAULT),
    )


def load_filler(
    repositories: dict[str, Repository],
    *,
    packages: int,
    versions: int,
    blob: Blob,
    manifest: OciManifest,
) -> None:
    """Spread ``versions`` versions over ``packages`` packages of every format.

    Each filler package gets one small generated document, so the document table has the
    size it would have; filler OCI images each hold the same manifest, so the catalog lists
    them all.
    """
    per_package = max(1, versions // max(1, packages))
    for offset in range(0, packages, BATCH):
        chunk = range(offset, min(packages, offset + BATCH))
        created = []
        for number in chunk:
            fmt = FORMATS[number % len(FORMATS)]
            name = f"filler-{number:07d}"
            if fmt == "maven":
                name = f"com.example.filler:{name}"
            created.append(Package(repository=repositories[fmt], name=name, normalized_name=name))
        created = Package.objects.bulk_create(created, batch_size=BATCH)
        rows = [
            Version(package=package, version=f"1.0.{number}")
            for package in created
            for number in range(per_package)
        ]
        rows = Version.objects.bulk_create(rows, batch_size=BATCH)
        assets, manifests = [], []
        for version in rows:
            package = version.package
            fmt = package.repository.format
            if fmt == "oci":
                manifests.append(
                    OciManifest(
                        version=version,
                        package=package,
                        digest=f"{manifest.digest[:-12]}{version.pk:012d}",
                        media_type=manifest.media_type,
                        size=manifest.size,
                        blob_id=manifest.blob_id,
                    )
                )
            else:
                assets.append(_filler_asset(package, version, blob, fmt))
        Asset.objects.bulk_create(assets, batch_size=BATCH)
        OciManifest.objects.bulk_create(manifests, batch_size=BATCH)
        Document.objects.bulk_create(
            [
                Document(
                    repository=package.repository,
                    key=f"filler:{package.name}",
                    content=b"{}",
                    content_type="application/json",
                    etag=f"filler-{package.pk}",
                )
                for package in created
            ],
            batch_size=BATCH,
        )
        print(f"loaded_packages={offset + len(chunk)}", file=sys.stderr, flush=True)


MIX_NPM_ACCEPT = "application/vnd.npm.install-v1+json"
MIX_PEP691 = "application/vnd.pypi.simple.v1+json"
MIX_OCI_ACCEPT = MANIFEST_TYPE


def _first_fillers(repository: Repository, count: int) -> list[Package]:
    packages = Package.objects.filter(repository=repository, name__contains="filler-")
    return list(packages.order_by("name")[:count])


def mix_prepare(repositories: dict[str, Repository], *, count: int) -> list[tuple[str, str, str]]:
    """Give ``count`` filler packages of npm and PyPI their documents; return the mix.

    The mix is ``(format, path, Accept)`` per request a pulling client sends: npm packuments
    (abbreviated, as ``npm install`` asks) and tarballs, PyPI simple pages (PEP 691) and files,
    OCI manifests by tag and blobs of ``oci/big``, Maven metadata and jars of
    ``com.example:big``. Idempotent.
    """
    mix = []
    for package in _first_fillers(repositories["npm"], count):
        versions = list(package.versions.all())
        for version in versions:
            version.metadata = {"manifest": {"name": package.name, "version": version.version}}
        Version.objects.bulk_update(versions, ["metadata"])
        with transaction.atomic():
            npm_documents_rebuild(package=package_lock(package=package))
        mix.append(("npm", f"/repository/npm/{package.name}", MIX_NPM_ACCEPT))
        tarball = tarball_path(name=package.name, version=versions[0].version)
        mix.append(("npm", f"/repository/npm/{tarball}", "*/*"))
    for package in _first_fillers(repositories["pypi"], count):
        assets = list(Asset.objects.filter(version__package=package))
        for asset in assets:
            filename = asset.path.rsplit("/", 1)[1]
            asset.metadata = {"kind": ASSET_KIND_DISTRIBUTION, "filename": filename}
        Asset.objects.bulk_update(assets, ["metadata"])
        pypi_project_documents_rebuild(package=package)
        mix.append(("pypi", f"/repository/pypi/simple/{package.normalized_name}/", MIX_PEP691))
        mix.append(("pypi", f"/repository/pypi/{assets[0].path}", "*/*"))
    big = Package.objects.get(repository=repositories["oci"], normalized_name="big")
    for tag in Tag.objects.filter(package=big).order_by("name")[:count]:
        mix.append(("oci", f"/v2/oci/big/manifests/{tag.name}", MIX_OCI_ACCEPT))
    references = OciManifestReference.objects.filter(manifest__package=big, kind="blob")
    for digest in references.values_list("digest", flat=True).distinct()[:count]:
        mix.append(("oci", f"/v2/oci/big/blobs/{digest}", "*/*"))
    jars = Asset.objects.filter(repository=repositories["maven"], path__endswith=".jar")
    for path in jars.filter(version__package__name="com.example:big").values_list(
        "path", flat=True
    )[:count]:
        mix.append(("maven", "/repository/maven/com/example/big/maven-metadata.xml", "*/*"))
        mix.append(("maven", f"/repository/maven/{path}", "*/*"))
    return mix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for option in ("versions", "packages", "npm-versions", "pypi-files", "oci-tags"):
        parser.add_argument(f"--{option}", type=int)
    parser.add_argument("--maven-versions", type=int)
    parser.add_argument(
        "--mix", type=int, metavar="N", help="prepare and print a pull mix of N per kind instead"
    )
    args = parser.parse_args()
    repositories = {fmt: Repository.objects.get(name=fmt) for fmt in FORMATS}
    if args.mix:
        for fmt, path, accept in mix_prepare(repositories, count=args.mix):
            print(f"{fmt}\t{path}\t{accept}")
        return
    blob = blob_of(b"synthetic file shared by every filler asset\n" * 64)
    started = time.monotonic()
    with step("npm"):
        load_npm(repositories["npm"], versions=args.npm_versions, blob=blob)
    with step("pypi"):
        load_pypi(repositories["pypi"], files=args.pypi_files, blob=blob)
    with step("maven"):
        load_maven(repositories["maven"], versions=args.maven_versions, blob=blob)
    with step("oci"):
        manifest = load_oci(repositories["oci"], tags=args.oci_tags, layer=os.urandom(4096))
    hot = Version.objects.count()
    with step("filler"):
        load_filler(
            repositories,
            packages=max(0, args.packages - 4),
            versions=max(0, args.versions - hot),
            blob=blob,
            manifest=manifest,
        )
    with step("pypi_index"):
        pypi_index_documents_rebuild(repository=repositories["pypi"])
    with step("analyze"), connection.cursor() as cursor:
        # Fresh statistics, as autovacuum would take a while to gather: without them the
        # planner takes the bulk-loaded tables for empty and sorts whole ranges for a page.
        cursor.execute("ANALYZE")
    print(f"load_total_s={time.monotonic() - started:.2f}")
    hot = Package.objects.get(repository=repositories["npm"], normalized_name="big-npm")
    print(f"package_npm={hot.pk}")
    print(f"versions={Version.objects.count()}")
    print(f"packages={Package.objects.count()}")
    print(f"assets={Asset.objects.count()}")
    print(f"tags={Tag.objects.count()}")


if __name__ == "__main__":
    main()
