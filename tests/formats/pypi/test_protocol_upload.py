"""The legacy upload API as twine drives it: multipart POST to the repository root."""

import hashlib

import pytest

from access.models import Role
from formats.models import Asset, Document, Package, Version
from storage.models import Blob, Upload
from tests.formats.pypi.conftest import basic
from tests.formats.pypi.dists import core_metadata, make_sdist, make_wheel

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

FILE_EXISTS = (
    "File already exists ('demo_pkg-1.0-py3-none-any.whl', with sha256 hash '{sha256}'). "
    "See https://pypi.org/help/#file-name-reuse for more information."
)


def _state() -> tuple[int, int, int, int, int, int]:
    return (
        Package.objects.count(),
        Version.objects.count(),
        Asset.objects.count(),
        Document.objects.count(),
        Blob.objects.count(),
        Upload.objects.count(),  # a refused file's upload session is gone too
    )


def test_wheel_upload_stores_file_metadata_and_pages(upload, pypi_repository):
    filename, content = make_wheel("Demo.Pkg", "1.0", requires_python=">=3.8")

    response = upload(filename, content, name="Demo.Pkg", version="1.0")

    assert response.status_code == 200
    package = Package.objects.get(repository=pypi_repository)
    assert (package.name, package.normalized_name) == ("Demo.Pkg", "demo-pkg")
    version = package.versions.get()
    assert version.version == "1.0"
    assert version.metadata["requires_python"] == ">=3.8"
    assert version.metadata["summary"] == "A test project"
    wheel = Asset.objects.get(path="packages/demo-pkg/1.0/Demo.Pkg-1.0-py3-none-any.whl")
    assert wheel.blob.sha256 == hashlib.sha256(content).hexdigest()
    assert wheel.blob.md5 == hashlib.md5(content).hexdigest()
    assert wheel.media_type == "application/zip"
    metadata_bytes = core_metadata("Demo.Pkg", "1.0", requires_python=">=3.8")
    assert wheel.metadata == {
        "kind": "distribution",
        "filename": "Demo.Pkg-1.0-py3-none-any.whl",
        "packagetype": "bdist_wheel",
        "python_version": "py3",
        "requires_python": ">=3.8",
        "core_metadata_sha256": hashlib.sha256(metadata_bytes).hexdigest(),
        "core_metadata_path": "packages/demo-pkg/1.0/Demo.Pkg-1.0-py3-none-any.whl.metadata",
        "upload_time": wheel.created.isoformat(),
    }
    sidecar = Asset.objects.get(path=wheel.metadata["core_metadata_path"])
    assert (sidecar.version, sidecar.blob.sha256) == (
        version,
        wheel.metadata["core_metadata_sha256"],
    )
    assert set(Document.objects.values_list("key", flat=True)) == {
        "simple/html",
        "simple/json",
        "simple/demo-pkg/html",
        "simple/demo-pkg/json",
    }


def test_sdist_and_wheel_of_one_release_share_the_version(upload):
    assert upload(*make_sdist("demo-pkg", "1.0")).status_code == 200
    assert upload(*make_wheel("demo-pkg", "1.0")).status_code == 200

    version = Version.objects.get()
    assert sorted(version.assets.values_list("path", flat=True)) == [
        "packages/demo-pkg/1.0/demo_pkg-1.0-py3-none-any.whl",
        "packages/demo-pkg/1.0/demo_pkg-1.0-py3-none-any.whl.metadata",
        "packages/demo-pkg/1.0/demo_pkg-1.0.tar.gz",
    ]
    sdist = version.assets.get(path__endswith=".tar.gz")
    assert sdist.media_type == "application/gzip"
    assert sdist.metadata == {
        "kind": "distribution",
        "filename": "demo_pkg-1.0.tar.gz",
        "packagetype": "sdist",
        "python_version": "source",
        "requires_python": None,
        "upload_time": sdist.created.isoformat(),
    }


def test_second_sdist_of_a_release_is_refused(upload):
    assert upload(*make_sdist("demo_pkg", "1.0")).status_code == 200
    filename, content = make_sdist("Demo.Pkg", "1.0")
    before = _state()

    response = upload(filename, content)

    assert (response.status_code, response.reason_phrase) == (
        400,
        "Only one sdist may be uploaded per release.",
    )
    assert _state() == before


def test_reupload_with_different_bytes_is_refused_with_pypis_message(upload):
    filename, content = make_wheel("demo_pkg", "1.0")
    assert upload(filename, content).status_code == 200
    _, changed = make_wheel("demo_pkg", "1.0", summary="changed")
    before = _state()

    response = upload(filename, changed)

    message = FILE_EXISTS.format(sha256=hashlib.sha256(changed).hexdigest())
    assert (response.status_code, response.reason_phrase) == (400, message)
    assert response.content.decode() == message + "\n"
    assert _state() == before
    assert (
        Asset.objects.get(path__endswith=".whl").blob.sha256 == hashlib.sha256(content).hexdigest()
    )


def test_reupload_of_the_same_bytes_is_refused_without_redeploy(upload):
    filename, content = make_wheel("demo_pkg", "1.0")
    assert upload(filename, content).status_code == 200
    before = _state()

    response = upload(filename, content)

    message = FILE_EXISTS.format(sha256=hashlib.sha256(content).hexdigest())
    assert (response.status_code, response.reason_phrase) == (400, message)
    assert _state() == before


def test_reupload_of_the_same_bytes_is_accepted_with_redeploy(upload, pypi_repository):
    pypi_repository.allow_redeploy = True
    pypi_repository.save()
    filename, content = make_wheel("demo_pkg", "1.0")
    assert upload(filename, content).status_code == 200
    before = _state()
    _, changed = make_wheel("demo_pkg", "1.0", summary="changed")

    same = upload(filename, content)
    different = upload(filename, changed)

    assert same.status_code == 200
    assert (different.status_code, different.reason_phrase[:21]) == (400, "File already exists (")
    assert _state() == before


@pytest.mark.parametrize(
    ("_case", "filename", "fields", "reason"),
    [
        (
            "sha256 does not match",
            "demo_pkg-1.0-py3-none-any.whl",
            {"sha256_digest": "0" * 64},
            "The digest supplied does not match a digest calculated from the uploaded file.",
        ),
        (
            "md5 does not match",
            "demo_pkg-1.0-py3-none-any.whl",
            {"md5_digest": "0" * 32},
            "The digest supplied does not match a digest calculated from the uploaded file.",
        ),
        (
            "no digest at all",
            "demo_pkg-1.0-py3-none-any.whl",
            {"sha256_digest": None, "md5_digest": None},
            "Include at least one message digest.",
        ),
        (
            "digest is not hex",
            "demo_pkg-1.0-py3-none-any.whl",
            {"sha256_digest": "xyz"},
            "Invalid value for sha256_digest. Use a valid hex digest.",
        ),
        (
            "unknown action",
            "demo_pkg-1.0-py3-none-any.whl",
            {":action": "submit"},
            "Unsupported ':action' 'submit'; only 'file_upload' is supported.",
        ),
        (
            "form names another project",
            "demo_pkg-1.0-py3-none-any.whl",
            {"name": "other"},
            "Start filename for 'other' with 'demo_pkg': the filename "
            "'demo_pkg-1.0-py3-none-any.whl' is for another project.",
        ),
        (
            "form names another version",
            "demo_pkg-1.0-py3-none-any.whl",
            {"version": "2.0"},
            "Version in filename should be '2.0' not '1.0': "
            "'demo_pkg-1.0-py3-none-any.whl' is for another version.",
        ),
        (
            "filetype disagrees with the file",
            "demo_pkg-1.0-py3-none-any.whl",
            {"filetype": "sdist"},
            "Invalid value for filetype 'sdist': the file is a bdist_wheel.",
        ),
        (
            "egg files are not accepted",
            "demo_pkg-1.0-py3.11.egg",
            {},
            "Invalid distribution filename 'demo_pkg-1.0-py3.11.egg': only wheels (.whl) and "
            "sdists (.tar.gz, .zip) are accepted.",
        ),
    ],
)
def test_bad_upload_is_refused_with_the_reason(upload, _case, filename, fields, reason):
    _, content = make_wheel("demo_pkg", "1.0")
    before = _state()

    response = upload(filename, content, **fields)

    assert (response.status_code, response.reason_phrase) == (400, reason)
    assert response.content.decode() == reason + "\n"
    assert _state() == before


def test_metadata_naming_another_project_is_refused(upload):
    filename, content = make_wheel("demo_pkg", "1.0", metadata=core_metadata("other", "1.0"))
    before = _state()

    response = upload(filename, content)

    assert (response.status_code, response.reason_phrase) == (
        400,
        "Filename 'demo_pkg-1.0-py3-none-any.whl' is for project 'demo-pkg' but its metadata "
        "names 'other'.",
    )
    assert _state() == before


def test_corrupt_archive_is_refused(upload):
    before = _state()

    response = upload("demo_pkg-1.0-py3-none-any.whl", b"not a zip file")

    assert response.status_code == 400
    assert response.reason_phrase == (
        "demo_pkg-1.0-py3-none-any.whl is not a valid whl archive: File is not a zip file"
    )
    assert _state() == before


def test_upload_without_a_file_is_refused(upload):
    response = upload("demo_pkg-1.0-py3-none-any.whl", b"", content=None)

    assert (response.status_code, response.reason_phrase) == (
        400,
        "Upload payload does not have a file.",
    )


def test_password_credentials_are_accepted(upload, pypi_repository, make_user, password):
    user = make_user(pypi_repository, Role.WRITE)

    response = upload(*make_wheel("demo_pkg", "1.0"), headers=basic(user.username, password))

    assert response.status_code == 200
    assert Version.objects.get().published_by == user


def test_anonymous_upload_is_challenged(upload):
    response = upload(*make_wheel("demo_pkg", "1.0"), headers={})

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="registry"'
    assert _state() == (0, 0, 0, 0, 0, 0)


def test_reader_upload_is_forbidden(upload, pypi_repository, make_user, make_token):
    reader_auth = basic("__token__", make_token(make_user(pypi_repository, Role.READ)))

    response = upload(*make_wheel("demo_pkg", "1.0"), headers=reader_auth)

    assert response.status_code == 403
    assert response.reason_phrase == "write access to 'pypi-local' denied"
    assert _state() == (0, 0, 0, 0, 0, 0)


def test_wrong_token_is_rejected(upload):
    response = upload(*make_wheel("demo_pkg", "1.0"), headers=basic("__token__", "reg_wrong"))

    assert response.status_code == 401
    assert response.reason_phrase == "token is invalid, expired or revoked"


@pytest.mark.parametrize(
    ("_case", "content_type", "body", "reason"),
    [
        (
            "multipart without a boundary",
            "multipart/form-data",
            b"garbage",
            "Invalid multipart form: Invalid boundary in multipart: None",
        ),
        (
            "multipart with no parts",
            "multipart/form-data; boundary=xyz",
            b"garbage",
            "Upload payload does not have a file.",
        ),
        ("not multipart at all", "application/json", b"{}", "Upload payload does not have a file."),
    ],
)
def test_malformed_request_body_is_a_400(client, writer_auth, _case, content_type, body, reason):
    response = client.post(
        "/repository/pypi-local/", data=body, content_type=content_type, headers=writer_auth
    )

    assert (response.status_code, response.reason_phrase) == (400, reason)
    assert _state() == (0, 0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("_case", "metadata", "reason"),
    [
        (
            "Name given twice",
            b"Metadata-Version: 2.1\nName: demo_pkg\nName: other\nVersion: 1.0\n",
            "Core metadata has more than one Name field.",
        ),
        (
            "invalid Requires-Dist",
            b"Metadata-Version: 2.1\nName: demo_pkg\nVersion: 1.0\nRequires-Dist: bad req !!!\n",
            "Invalid Requires-Dist 'bad req !!!' in core metadata.",
        ),
        (
            "invalid Requires-Python",
            b"Metadata-Version: 2.1\nName: demo_pkg\nVersion: 1.0\nRequires-Python: >=3.8 or so\n",
            "Invalid Requires-Python '>=3.8 or so' in core metadata.",
        ),
        (
            "METADATA over the size cap",
            b"Metadata-Version: 2.1\nName: demo_pkg\nVersion: 1.0\n\n" + b"x" * (1024 * 1024),
            "demo_pkg-1.0.dist-info/METADATA is larger than 1048576 bytes.",
        ),
    ],
)
def test_invalid_core_metadata_is_refused_in_the_reason_phrase(upload, _case, metadata, reason):
    filename, content = make_wheel("demo_pkg", "1.0", metadata=metadata)
    before = _state()

    response = upload(filename, content)

    assert (response.status_code, response.reason_phrase) == (400, reason)
    assert _state() == before
