import base64
import hashlib
import json

import pytest

from formats.oci import manifests, names
from formats.oci.errors import ManifestInvalid
from formats.oci.manifests import (
    EMPTY_DIGEST,
    EMPTY_JSON,
    EMPTY_SIZE,
    MIME_DOCKER_CONFIG,
    MIME_DOCKER_LAYER_TAR_GZIP,
    MIME_DOCKER_MANIFEST_LIST_V2,
    MIME_DOCKER_MANIFEST_V2,
    MIME_OCI_CONFIG,
    MIME_OCI_EMPTY,
    MIME_OCI_INDEX,
    MIME_OCI_LAYER_TAR_GZIP,
    MIME_OCI_MANIFEST,
    Descriptor,
    Platform,
)
from formats.oci.names import Digest

A = "a" * 64
B = "b" * 64
C = "c" * 64


def _desc(media_type, hex_, size, **extra):
    return {"mediaType": media_type, "digest": f"sha256:{hex_}", "size": size, **extra}


def _oci_manifest(**overrides):
    body = {
        "schemaVersion": 2,
        "mediaType": MIME_OCI_MANIFEST,
        "config": _desc(MIME_OCI_CONFIG, A, 10),
        "layers": [_desc(MIME_OCI_LAYER_TAR_GZIP, B, 20)],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def _raw(body):
    return json.dumps(body).encode()


def test_parse_oci_image_manifest():
    raw = _raw(_oci_manifest(annotations={"org.opencontainers.image.created": "2024"}))
    parsed = manifests.parse_manifest(raw, content_type=MIME_OCI_MANIFEST)
    config = Descriptor(MIME_OCI_CONFIG, Digest("sha256", A), 10)
    layer = Descriptor(MIME_OCI_LAYER_TAR_GZIP, Digest("sha256", B), 20)
    assert parsed == manifests.ParsedManifest(
        media_type=MIME_OCI_MANIFEST,
        digest=Digest("sha256", hashlib.sha256(raw).hexdigest()),
        size=len(raw),
        config=config,
        layers=(layer,),
        manifests=(),
        subject=None,
        artifact_type=MIME_OCI_CONFIG,
        annotations={"org.opencontainers.image.created": "2024"},
    )
    assert parsed.is_index is False
    assert parsed.blobs == (config, layer)


def test_parse_umoci_manifest_without_media_type_uses_content_type():
    # umoci (and skopeo copying its layouts) omit mediaType from the body.
    raw = _raw(_oci_manifest(mediaType=None))
    parsed = manifests.parse_manifest(raw, content_type=MIME_OCI_MANIFEST + "; charset=utf-8")
    assert parsed.media_type == MIME_OCI_MANIFEST


@pytest.mark.parametrize(
    ("_case", "body", "content_type", "expected"),
    [
        ("manifest shape, no header", _oci_manifest(mediaType=None), None, MIME_OCI_MANIFEST),
        (
            "index shape, generic header",
            {"schemaVersion": 2, "manifests": []},
            "application/json",
            MIME_OCI_INDEX,
        ),
        (
            "body wins over octet-stream",
            _oci_manifest(),
            "application/octet-stream",
            MIME_OCI_MANIFEST,
        ),
    ],
)
def test_parse_manifest_infers_oci_media_type(_case, body, content_type, expected):
    assert manifests.parse_manifest(_raw(body), content_type=content_type).media_type == expected


def test_parse_oci_index_with_platforms_and_artifact_type():
    body = {
        "schemaVersion": 2,
        "mediaType": MIME_OCI_INDEX,
        "artifactType": "application/vnd.example.bundle",
        "manifests": [
            _desc(MIME_OCI_MANIFEST, A, 100, platform={"architecture": "amd64", "os": "linux"}),
            _desc(
                MIME_OCI_MANIFEST,
                B,
                101,
                platform={"architecture": "arm64", "os": "linux", "variant": "v8"},
            ),
        ],
        "subject": _desc(MIME_OCI_MANIFEST, C, 5),
    }
    parsed = manifests.parse_manifest(_raw(body), content_type=MIME_OCI_INDEX)
    assert parsed.is_index is True
    assert parsed.config is None
    assert parsed.layers == ()
    assert parsed.blobs == ()
    assert parsed.manifests == (
        Descriptor(
            MIME_OCI_MANIFEST, Digest("sha256", A), 100, platform=Platform("amd64", "linux")
        ),
        Descriptor(
            MIME_OCI_MANIFEST, Digest("sha256", B), 101, platform=Platform("arm64", "linux", "v8")
        ),
    )
    assert parsed.subject == Descriptor(MIME_OCI_MANIFEST, Digest("sha256", C), 5)
    assert parsed.artifact_type == "application/vnd.example.bundle"


def test_parse_oci_index_without_artifact_type_has_none():
    body = {"schemaVersion": 2, "mediaType": MIME_OCI_INDEX, "manifests": []}
    parsed = manifests.parse_manifest(_raw(body), content_type=None)
    assert parsed.manifests == ()
    assert parsed.artifact_type is None


def test_parse_artifact_manifest_with_empty_config_and_subject():
    body = _oci_manifest(
        artifactType="application/vnd.example.sbom.v1",
        config=_desc(MIME_OCI_EMPTY, EMPTY_DIGEST.split(":")[1], EMPTY_SIZE, data="e30="),
        layers=[_desc("application/spdx+json", B, 7, annotations={"k": "v"})],
        subject=_desc(MIME_OCI_MANIFEST, C, 499),
    )
    parsed = manifests.parse_manifest(_raw(body), content_type=MIME_OCI_MANIFEST)
    assert parsed.config == Descriptor(MIME_OCI_EMPTY, names.parse_digest(EMPTY_DIGEST), 2)
    assert parsed.layers == (
        Descriptor("application/spdx+json", Digest("sha256", B), 7, annotations={"k": "v"}),
    )
    assert parsed.subject == Descriptor(MIME_OCI_MANIFEST, Digest("sha256", C), 499)
    assert parsed.artifact_type == "application/vnd.example.sbom.v1"


@pytest.mark.parametrize(
    ("_case", "artifact_type", "expected"),
    [
        ("absent falls back to config", None, "application/vnd.example.config"),
        ("empty falls back to config", "", "application/vnd.example.config"),
        ("explicit wins", "application/vnd.example.sig", "application/vnd.example.sig"),
    ],
)
def test_manifest_artifact_type_follows_referrers_rules(_case, artifact_type, expected):
    body = _oci_manifest(
        artifactType=artifact_type, config=_desc("application/vnd.example.config", A, 3)
    )
    parsed = manifests.parse_manifest(_raw(body), content_type=MIME_OCI_MANIFEST)
    assert parsed.artifact_type == expected


def test_parse_artifact_manifest_with_no_layers():
    body = _oci_manifest(layers=[])
    parsed = manifests.parse_manifest(_raw(body), content_type=None)
    assert parsed.layers == ()


def test_parse_docker_schema2_manifest():
    body = {
        "schemaVersion": 2,
        "mediaType": MIME_DOCKER_MANIFEST_V2,
        "config": _desc(MIME_DOCKER_CONFIG, A, 1469),
        "layers": [_desc(MIME_DOCKER_LAYER_TAR_GZIP, B, 2479)],
        # Docker types have no subject; the field is ignored rather than indexed.
        "subject": _desc(MIME_OCI_MANIFEST, C, 5),
    }
    parsed = manifests.parse_manifest(_raw(body), content_type=MIME_DOCKER_MANIFEST_V2)
    assert parsed.media_type == MIME_DOCKER_MANIFEST_V2
    assert parsed.config == Descriptor(MIME_DOCKER_CONFIG, Digest("sha256", A), 1469)
    assert parsed.layers == (Descriptor(MIME_DOCKER_LAYER_TAR_GZIP, Digest("sha256", B), 2479),)
    assert parsed.subject is None
    assert parsed.artifact_type is None


def test_parse_docker_manifest_list():
    body = {
        "schemaVersion": 2,
        "mediaType": MIME_DOCKER_MANIFEST_LIST_V2,
        "manifests": [
            _desc(
                MIME_DOCKER_MANIFEST_V2,
                A,
                528,
                platform={"architecture": "ppc64le", "os": "linux", "features": ["sse4"]},
            )
        ],
    }
    parsed = manifests.parse_manifest(_raw(body), content_type=MIME_DOCKER_MANIFEST_LIST_V2)
    assert parsed.is_index is True
    assert parsed.manifests == (
        Descriptor(
            MIME_DOCKER_MANIFEST_V2, Digest("sha256", A), 528, platform=Platform("ppc64le", "linux")
        ),
    )


def test_descriptor_urls_are_kept():
    layer = _desc(
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        B,
        1,
        urls=["https://example.com/layer"],
    )
    parsed = manifests.parse_manifest(_raw(_oci_manifest(layers=[layer])), content_type=None)
    assert parsed.layers[0].urls == ("https://example.com/layer",)


@pytest.mark.parametrize(
    ("_case", "raw", "content_type", "message"),
    [
        ("not json", b"{", None, None),
        ("not utf-8", b"\xff\xfe", None, None),
        ("json array", b"[]", None, "manifest must be a JSON object"),
        ("NaN constant", b'{"schemaVersion": NaN}', None, None),
        ("schema 1", _raw(_oci_manifest(schemaVersion=1)), None, "schemaVersion must be 2"),
        (
            "schema as string",
            _raw(_oci_manifest(schemaVersion="2")),
            None,
            "schemaVersion must be 2",
        ),
        (
            "schema as float",
            _raw(_oci_manifest(schemaVersion=2.0)),
            None,
            "schemaVersion must be 2",
        ),
        (
            "schema as bool",
            _raw(_oci_manifest(schemaVersion=True)),
            None,
            "schemaVersion must be 2",
        ),
        (
            "schema missing",
            _raw(_oci_manifest(schemaVersion=None)),
            None,
            "schemaVersion must be 2",
        ),
        (
            "body and header disagree",
            _raw(_oci_manifest()),
            MIME_DOCKER_MANIFEST_V2,
            "mediaType does not match Content-Type",
        ),
        (
            "unknown body media type",
            _raw(_oci_manifest(mediaType="application/vnd.example+json")),
            None,
            "unsupported manifest media type 'application/vnd.example+json'",
        ),
        (
            "unknown header media type",
            _raw(_oci_manifest(mediaType=None)),
            "text/plain",
            "unsupported manifest media type 'text/plain'",
        ),
        (
            "schema 1 header",
            _raw(_oci_manifest(mediaType=None)),
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            "Docker schema 1 manifests are not supported",
        ),
        (
            "media type not a string",
            _raw(_oci_manifest(mediaType=5)),
            None,
            "mediaType must be a string",
        ),
        (
            "shape unknown",
            _raw({"schemaVersion": 2}),
            None,
            "cannot determine the manifest media type",
        ),
        (
            "docker manifest without mediaType in body",
            _raw(_oci_manifest(mediaType=None)),
            MIME_DOCKER_MANIFEST_V2,
            "Docker manifests must declare mediaType",
        ),
        ("config missing", _raw(_oci_manifest(config=None)), None, "config is required"),
        ("layers missing", _raw(_oci_manifest(layers=None)), None, "layers is required"),
        ("layers not a list", _raw(_oci_manifest(layers={})), None, "layers must be a list"),
        (
            "manifest with manifests",
            _raw(_oci_manifest(manifests=[])),
            None,
            "an image manifest must not contain manifests",
        ),
        (
            "index with layers",
            _raw({"schemaVersion": 2, "mediaType": MIME_OCI_INDEX, "manifests": [], "layers": []}),
            None,
            "an index must not contain layers",
        ),
        (
            "index without manifests",
            _raw({"schemaVersion": 2, "mediaType": MIME_OCI_INDEX}),
            None,
            "manifests is required",
        ),
        (
            "descriptor not an object",
            _raw(_oci_manifest(layers=["sha256:x"])),
            None,
            "layers[0] must be an object",
        ),
        (
            "descriptor bad digest",
            _raw(_oci_manifest(layers=[_desc(MIME_OCI_LAYER_TAR_GZIP, "zz", 1)])),
            None,
            "layers[0].digest: sha256 digest must be 64 lowercase hex characters",
        ),
        (
            "descriptor missing digest",
            _raw(_oci_manifest(config={"mediaType": MIME_OCI_CONFIG, "size": 1})),
            None,
            "config.digest is required",
        ),
        (
            "descriptor missing media type",
            _raw(_oci_manifest(config={"digest": f"sha256:{A}", "size": 1})),
            None,
            "config.mediaType is required",
        ),
        (
            "descriptor garbage media type",
            _raw(_oci_manifest(config=_desc("not a type", A, 1))),
            None,
            "config.mediaType is not a media type",
        ),
        (
            "descriptor negative size",
            _raw(_oci_manifest(config=_desc(MIME_OCI_CONFIG, A, -1))),
            None,
            "config.size must not be negative",
        ),
        (
            "descriptor missing size",
            _raw(_oci_manifest(config={"mediaType": MIME_OCI_CONFIG, "digest": f"sha256:{A}"})),
            None,
            "config.size must be an integer",
        ),
        (
            "descriptor size as string",
            _raw(_oci_manifest(config=_desc(MIME_OCI_CONFIG, A, "1"))),
            None,
            "config.size must be an integer",
        ),
        (
            "descriptor size as bool",
            _raw(_oci_manifest(config=_desc(MIME_OCI_CONFIG, A, True))),
            None,
            "config.size must be an integer",
        ),
        (
            "descriptor annotations not strings",
            _raw(_oci_manifest(config=_desc(MIME_OCI_CONFIG, A, 1, annotations={"k": 1}))),
            None,
            "config.annotations must map strings to strings",
        ),
        (
            "manifest annotations not an object",
            _raw(_oci_manifest(annotations=["x"])),
            None,
            "annotations must map strings to strings",
        ),
        (
            "urls not strings",
            _raw(_oci_manifest(config=_desc(MIME_OCI_CONFIG, A, 1, urls=[1]))),
            None,
            "config.urls must be a list of strings",
        ),
        (
            "data not base64",
            _raw(_oci_manifest(config=_desc(MIME_OCI_CONFIG, A, 2, data="!!"))),
            None,
            "config.data is not base64",
        ),
        (
            "data does not match digest",
            _raw(_oci_manifest(config=_desc(MIME_OCI_CONFIG, A, 2, data="e30="))),
            None,
            "config.data does not match digest and size",
        ),
        (
            "platform without os",
            _raw(
                {
                    "schemaVersion": 2,
                    "manifests": [_desc(MIME_OCI_MANIFEST, A, 1, platform={"architecture": "x"})],
                }
            ),
            None,
            "manifests[0].platform.os is required",
        ),
        (
            "subject bad digest",
            _raw(_oci_manifest(subject=_desc(MIME_OCI_MANIFEST, "0", 1))),
            None,
            "subject.digest: sha256 digest must be 64 lowercase hex characters",
        ),
        (
            "artifactType not a string",
            _raw(_oci_manifest(artifactType=1)),
            None,
            "artifactType must be a string",
        ),
    ],
)
def test_parse_manifest_rejects_invalid(_case, raw, content_type, message):
    with pytest.raises(ManifestInvalid) as excinfo:
        manifests.parse_manifest(raw, content_type=content_type)
    assert excinfo.value.code == "MANIFEST_INVALID"
    if message is None:
        assert excinfo.value.message.startswith("manifest is not valid JSON: ")
    else:
        assert excinfo.value.message == message


def test_parse_manifest_rejects_oversized_body():
    raw = _raw(_oci_manifest())
    with pytest.raises(ManifestInvalid) as excinfo:
        manifests.parse_manifest(raw, content_type=None, max_size=len(raw) - 1)
    assert excinfo.value.message == f"manifest larger than {len(raw) - 1} bytes"
    assert excinfo.value.detail == {"size": len(raw)}


def test_manifest_invalid_detail_names_field():
    raw = _raw(_oci_manifest(layers=[_desc(MIME_OCI_LAYER_TAR_GZIP, B, -5)]))
    with pytest.raises(ManifestInvalid) as excinfo:
        manifests.parse_manifest(raw, content_type=None)
    assert excinfo.value.detail == {"field": "layers[0].size"}


def test_empty_descriptor_constants_agree():
    assert base64.b64decode("e30=") == EMPTY_JSON
    assert str(names.digest_of(EMPTY_JSON)) == EMPTY_DIGEST
    assert len(EMPTY_JSON) == EMPTY_SIZE


# --- referrers -------------------------------------------------------------------------------


def _referrers():
    sbom = Descriptor(
        MIME_OCI_MANIFEST,
        Digest("sha256", A),
        10,
        artifact_type="application/vnd.example.sbom.v1",
        annotations={"org.example.kind": "sbom"},
    )
    sig = Descriptor(
        MIME_OCI_MANIFEST, Digest("sha256", B), 11, artifact_type="application/vnd.example.sig"
    )
    index = Descriptor(MIME_OCI_INDEX, Digest("sha256", C), 12)
    return [sbom, sig, index]


def test_build_referrers_index_lists_all():
    body = manifests.build_referrers_index(_referrers(), artifact_type_filter=None)
    assert json.loads(body) == {
        "schemaVersion": 2,
        "mediaType": MIME_OCI_INDEX,
        "manifests": [
            {
                "mediaType": MIME_OCI_MANIFEST,
                "digest": f"sha256:{A}",
                "size": 10,
                "artifactType": "application/vnd.example.sbom.v1",
                "annotations": {"org.example.kind": "sbom"},
            },
            {
                "mediaType": MIME_OCI_MANIFEST,
                "digest": f"sha256:{B}",
                "size": 11,
                "artifactType": "application/vnd.example.sig",
            },
            {"mediaType": MIME_OCI_INDEX, "digest": f"sha256:{C}", "size": 12},
        ],
    }
    assert body.startswith(b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index')


@pytest.mark.parametrize(
    ("_case", "artifact_type_filter", "expected_digests"),
    [
        ("match", "application/vnd.example.sig", [f"sha256:{B}"]),
        ("no match", "application/vnd.example.none", []),
        ("empty filter lists all", "", [f"sha256:{A}", f"sha256:{B}", f"sha256:{C}"]),
    ],
)
def test_build_referrers_index_filters(_case, artifact_type_filter, expected_digests):
    body = manifests.build_referrers_index(_referrers(), artifact_type_filter=artifact_type_filter)
    assert [m["digest"] for m in json.loads(body)["manifests"]] == expected_digests


def test_build_referrers_index_empty():
    assert manifests.build_referrers_index([], artifact_type_filter=None) == (
        b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'
    )


def test_referrer_descriptor_of_parsed_manifest():
    body = _oci_manifest(
        config=_desc("application/vnd.example.config", A, 3),
        annotations={"a": "b"},
        subject=_desc(MIME_OCI_MANIFEST, C, 1),
    )
    raw = _raw(body)
    parsed = manifests.parse_manifest(raw, content_type=None)
    assert parsed.referrer_descriptor().to_json() == {
        "mediaType": MIME_OCI_MANIFEST,
        "digest": "sha256:" + hashlib.sha256(raw).hexdigest(),
        "size": len(raw),
        "artifactType": "application/vnd.example.config",
        "annotations": {"a": "b"},
    }


def test_descriptor_to_json_includes_platform_and_urls():
    descriptor = Descriptor(
        MIME_OCI_MANIFEST,
        Digest("sha256", A),
        1,
        platform=Platform("arm", "linux", "v7"),
        urls=("https://x",),
    )
    assert descriptor.to_json() == {
        "mediaType": MIME_OCI_MANIFEST,
        "digest": f"sha256:{A}",
        "size": 1,
        "platform": {"architecture": "arm", "os": "linux", "variant": "v7"},
        "urls": ["https://x"],
    }
