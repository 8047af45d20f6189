"""Stored content for the UI tests: versions with real files (blobs) in a repository."""

from formats.models import Asset, Version
from storage.services import blob_checksums, blob_ingest_bytes
from tests.factories import PackageFactory, VersionFactory


def version_with_file(repository, name: str, version: str, path: str, content: bytes, **fields):
    """A version of package ``name`` in ``repository`` holding one file at ``path``.

    The blob knows all its digests, as after an upload whose client declared them.
    """
    package = repository.packages.filter(name=name).first() or PackageFactory(
        repository=repository, name=name, normalized_name=fields.pop("normalized_name", name)
    )
    made: Version = VersionFactory(package=package, version=version, **fields)
    Asset.objects.create(
        repository=repository,
        version=made,
        path=path,
        blob=blob_checksums(blob=blob_ingest_bytes(content=content)),
    )
    return made


def page_text(response) -> str:
    """The response body with runs of white space made one space, as a reader sees it."""
    return " ".join(response.content.decode().split())


def result_names(response) -> list[str]:
    """The package names of a search page's results, in their order (none: an empty list)."""
    text = response.content.decode()
    body = text[text.index('<table id="results">') :].split("</table>", 1)[0]
    rows = body.split("<tr>")[2:]
    return [row.split('/">', 1)[1].split("</a>")[0] for row in rows if '/">' in row]
