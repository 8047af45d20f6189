"""The OCI clients the end-to-end tests drive: skopeo, umoci layouts and podman, no daemon."""

import hashlib
import json
import os
import subprocess
from pathlib import Path

from tests.live import require_client

MIME_OCI_INDEX = "application/vnd.oci.image.index.v1+json"


class Skopeo:
    """skopeo with its own policy, registries configuration, auth file and temp dir."""

    def __init__(self, root: Path) -> None:
        self.binary = require_client("skopeo")
        root.mkdir(parents=True, exist_ok=True)
        (root / "registries.d").mkdir(exist_ok=True)
        (root / "tmp").mkdir(exist_ok=True)
        (root / "registries.conf").write_text("")
        self.root = root
        self.env = {
            **os.environ,
            "CONTAINERS_REGISTRIES_CONF": str(root / "registries.conf"),
            "REGISTRY_AUTH_FILE": str(root / "auth.json"),
        }

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [
                self.binary,
                "--insecure-policy",
                "--registries.d",
                str(self.root / "registries.d"),
                "--tmpdir",
                str(self.root / "tmp"),
                *args,
            ],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=300,
            check=False,
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    def push(self, source: str, destination: str, *, creds: str) -> subprocess.CompletedProcess:
        """Copy ``source`` (e.g. ``oci:LAYOUT:TAG``) to ``destination`` (``docker://...``) over
        plain HTTP with ``creds`` (``user:secret``)."""
        return self("copy", "--dest-tls-verify=false", "--dest-creds", creds, source, destination)


class Layout:
    """An OCI image layout built with umoci (no daemon)."""

    def __init__(self, path: Path) -> None:
        self.umoci = require_client("umoci")
        self.path = path
        self._run("init", "--layout", str(path))
        self._run("new", "--image", f"{path}:base")

    def _run(self, *args: str) -> None:
        subprocess.run([self.umoci, *args], check=True, capture_output=True, timeout=120)

    def add_file(self, source: Path, target: str, *, image: str, tag: str) -> None:
        self._run("insert", "--image", f"{self.path}:{image}", str(source), target, "--tag", tag)

    def set_architecture(self, *, image: str, architecture: str, tag: str) -> None:
        self._run(
            "config",
            "--image",
            f"{self.path}:{image}",
            "--architecture",
            architecture,
            "--os",
            "linux",
            "--tag",
            tag,
        )

    def descriptor(self, tag: str) -> dict:
        index = json.loads((self.path / "index.json").read_text())
        for entry in index["manifests"]:
            if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
                return entry
        raise KeyError(tag)

    def blob(self, digest: str) -> bytes:
        algorithm, _, hex_ = digest.partition(":")
        return (self.path / "blobs" / algorithm / hex_).read_bytes()

    def add_index(self, tags_and_platforms: list[tuple[str, str]], *, tag: str) -> bytes:
        """Write an OCI index of the given tags' manifests and tag it; return its bytes."""
        manifests = []
        for child, architecture in tags_and_platforms:
            entry = {k: v for k, v in self.descriptor(child).items() if k != "annotations"}
            entry["platform"] = {"architecture": architecture, "os": "linux"}
            manifests.append(entry)
        body = json.dumps(
            {"schemaVersion": 2, "mediaType": MIME_OCI_INDEX, "manifests": manifests}
        ).encode()
        hex_ = hashlib.sha256(body).hexdigest()
        (self.path / "blobs" / "sha256" / hex_).write_bytes(body)
        index = json.loads((self.path / "index.json").read_text())
        index["manifests"].append(
            {
                "mediaType": MIME_OCI_INDEX,
                "digest": f"sha256:{hex_}",
                "size": len(body),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        )
        (self.path / "index.json").write_text(json.dumps(index))
        return body


class Podman:
    """podman with vfs storage under ``root`` and a short runroot (it refuses long ones)."""

    def __init__(self, root: Path, runroot: Path) -> None:
        self.binary = require_client("podman")
        root.mkdir(parents=True, exist_ok=True)
        (root / "registries.conf").write_text("")
        (root / "auth.json").write_text('{"auths": {}}')  # podman wants it to exist
        self.env = {
            **os.environ,
            "CONTAINERS_REGISTRIES_CONF": str(root / "registries.conf"),
            "REGISTRY_AUTH_FILE": str(root / "auth.json"),
        }
        self.base = [
            self.binary,
            "--storage-driver",
            "vfs",
            "--root",
            str(root / "root"),
            "--runroot",
            str(runroot),
        ]

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [*self.base, *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=300,
            check=False,
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result


def image_layout(directory: Path, *, size: int = 256 * 1024, tag: str = "v1") -> Layout:
    """Return a layout at ``directory/layout`` whose ``tag`` holds one random file of ``size``."""
    layout = Layout(directory / "layout")
    payload = directory / "payload.bin"
    payload.write_bytes(os.urandom(size))
    layout.add_file(payload, "/app/payload.bin", image="base", tag=tag)
    return layout
