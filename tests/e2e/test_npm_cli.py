"""The real npm CLI against a live registry: login, publish, install, tags, unpublish, tokens."""

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest
import requests

from access.models import ApiToken, Role, hash_token
from access.services import role_grant, token_create
from formats.models import Package, TagEvent, Version
from formats.npm.manifests import INSTALL_FIELDS
from formats.npm.selectors import npm_token_key
from tests.factories import PASSWORD, RepositoryFactory, UserFactory
from tests.formats.npm.helpers import make_tarball, publish_body
from tests.live import require_client

pytestmark = pytest.mark.e2e


class Npm:
    """Runs npm with its own userconfig, cache and HOME, never the developer's."""

    def __init__(self, binary: str, root: Path, registry: str, token: str) -> None:
        self.binary = binary
        self.root = root
        self.userconfig = root / "npmrc"
        auth_key = registry.split(":", 1)[1]  # //127.0.0.1:PORT/repository/<repo>/
        self.userconfig.write_text(
            f"registry={registry}\n{auth_key}:_authToken={token}\n"
            f"audit=false\nupdate-notifier=false\nfund=false\ncache={root / 'cache'}\n"
        )

    def __call__(self, *args: str, cwd: Path | None = None, check: bool = True):
        env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
        env.update(HOME=str(self.root), NO_COLOR="1")
        result = subprocess.run(
            [self.binary, *args, "--userconfig", str(self.userconfig)],
            cwd=cwd or self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if check and result.returncode != 0:
            pytest.fail(f"npm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result


def _project(path: Path, manifest: dict, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    (path / "package.json").write_text(json.dumps(manifest))
    for name, content in files.items():
        (path / name).write_text(content)
    return path


def _login(registry: str, username: str, password: str) -> requests.Response:
    # Exactly what `npm login --auth-type=legacy` sends (no Authorization header).
    body = {
        "_id": f"org.couchdb.user:{username}",
        "name": username,
        "password": password,
        "type": "user",
        "roles": [],
        "date": "2026-11-26T20:43:52.123Z",
    }
    return requests.put(
        f"{registry}-/user/org.couchdb.user:{username}",
        json=body,
        headers={"npm-command": "login"},
        timeout=30,
    )


@pytest.fixture
def npm_setup(live_registry, tmp_path):
    binary = require_client("npm")
    repository = RepositoryFactory(name="npm-e2e", format="npm")
    user = UserFactory(username="alice")
    role_grant(repository=repository, role=Role.DELETE, user=user)
    registry = f"{live_registry.url}/repository/npm-e2e/"
    login = _login(registry, "alice", PASSWORD)
    assert login.status_code == 201, login.text
    return Npm(binary, tmp_path, registry, login.json()["token"]), registry, login.json()["token"]


def test_publish_install_tags_deprecate_unpublish(npm_setup, tmp_path):
    npm, registry, _ = npm_setup
    lib = _project(
        tmp_path / "tinylib",
        {"name": "tinylib", "version": "1.0.0", "description": "tiny helpers", "main": "i.js"},
        {"i.js": "module.exports = 41;\n", "README.md": "# tinylib\n"},
    )
    npm("publish", cwd=lib)
    (lib / "package.json").write_text(
        json.dumps({"name": "tinylib", "version": "1.1.0", "description": "tiny helpers"})
    )
    npm("publish", cwd=lib)
    widget = _project(
        tmp_path / "widget",
        {
            "name": "@acme/widget",
            "version": "2.0.0",
            "main": "i.js",
            "dependencies": {"tinylib": "^1.0.0"},
        },
        {"i.js": "module.exports = require('tinylib') + 1;\n"},
    )
    npm("publish", cwd=widget)

    again = npm("publish", cwd=widget, check=False)
    assert again.returncode != 0
    assert "You cannot publish over the previously published versions: 2.0.0." in again.stderr

    app = _project(tmp_path / "app", {"name": "app", "version": "1.0.0", "private": True}, {})
    npm("install", "@acme/widget", "tinylib@1.0.0", cwd=app)
    lock = json.loads((app / "package-lock.json").read_text())["packages"]
    tinylib = Version.objects.get(package__name="tinylib", version="1.0.0")
    assert lock["node_modules/tinylib"]["resolved"] == f"{registry}tinylib/-/tinylib-1.0.0.tgz"
    assert lock["node_modules/tinylib"]["integrity"] == tinylib.metadata["integrity"]
    assert lock["node_modules/@acme/widget"]["resolved"] == (
        f"{registry}@acme/widget/-/widget-2.0.0.tgz"
    )
    run = subprocess.run(
        ["node", "-e", "console.log(require('@acme/widget'))"],
        cwd=app,
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout == "42\n"

    view = json.loads(npm("view", "tinylib", "--json").stdout)
    assert (view["versions"], view["dist-tags"]) == (["1.0.0", "1.1.0"], {"latest": "1.1.0"})
    assert npm("whoami").stdout == "alice\n"
    assert "PONG" in npm("ping").stderr

    npm("dist-tag", "add", "tinylib@1.0.0", "stable")
    assert npm("dist-tag", "ls", "tinylib").stdout == "latest: 1.1.0\nstable: 1.0.0\n"
    npm("dist-tag", "rm", "tinylib", "stable")
    assert npm("dist-tag", "ls", "tinylib").stdout == "latest: 1.1.0\n"
    assert list(
        TagEvent.objects.filter(tag="stable").order_by("id").values_list("action", "actor_name")
    ) == [("set", "alice"), ("delete", "alice")]

    npm("deprecate", "tinylib@1.0.0", "use 1.1.0")
    assert npm("view", "tinylib@1.0.0", "deprecated").stdout == "use 1.1.0\n"
    npm("deprecate", "tinylib@1.0.0", "")
    assert npm("view", "tinylib@1.0.0", "deprecated").stdout == ""

    search = json.loads(npm("search", "tiny", "--json").stdout)
    assert [(hit["name"], hit["version"]) for hit in search] == [("tinylib", "1.1.0")]

    npm("unpublish", "tinylib@1.0.0")
    assert json.loads(npm("view", "tinylib", "versions", "--json").stdout) == ["1.1.0"]
    npm("unpublish", "@acme/widget", "--force")
    assert Package.objects.filter(name="@acme/widget").exists() is False
    gone = npm("view", "@acme/widget", check=False)
    assert gone.returncode != 0
    assert "E404" in gone.stderr


def test_token_create_revoke_and_logout(npm_setup):
    npm, _, login_token = npm_setup

    created = npm("token", "create", "--password", PASSWORD, "--json")
    secret = json.loads(created.stdout)["token"]
    assert ApiToken.objects.get(token_hash=hash_token(secret)).revoked_at is None
    new = ApiToken.objects.get(token_hash=hash_token(secret))
    login = ApiToken.objects.get(token_hash=hash_token(login_token))
    listed = npm("token", "list", "--json")
    rows = json.loads(listed.stdout)
    assert {row["key"] for row in rows} == {npm_token_key(token=new), npm_token_key(token=login)}
    assert new.token_hash not in listed.stdout
    assert login.token_hash not in listed.stdout

    # The short id `npm token list` prints is what a person types to revoke.
    shown = next(row["id"] for row in rows if row["key"] == npm_token_key(token=new))
    npm("token", "revoke", shown)
    new.refresh_from_db()
    assert new.revoked_at is not None

    wrong = npm("token", "create", "--password", "not-it", check=False)
    assert wrong.returncode != 0
    assert "password confirmation failed" in wrong.stderr

    npm("logout")
    assert ApiToken.objects.get(token_hash=hash_token(login_token)).revoked_at is not None
    assert npm("whoami", check=False).returncode != 0


def test_a_read_only_token_cannot_revoke_the_login_token(npm_setup, tmp_path):
    npm, registry, login_token = npm_setup
    login = ApiToken.objects.get(token_hash=hash_token(login_token))
    reader = token_create(user=login.user, repositories=[*login.repositories.all()], read_only=True)
    (tmp_path / "reader").mkdir()
    as_reader = Npm(npm.binary, tmp_path / "reader", registry, reader.secret)

    refused = as_reader("token", "revoke", npm_token_key(token=login)[:8], check=False)

    assert refused.returncode != 0
    assert "a read-only or registry token can revoke only itself" in refused.stderr
    login.refresh_from_db()
    assert login.revoked_at is None


def test_bad_logins_and_tampered_publish_over_http(npm_setup):
    _, registry, token = npm_setup

    assert _login(registry, "alice", "wrong").status_code == 401
    assert _login(registry, "nobody", "pw").status_code == 401

    body = json.loads(publish_body("evil", "1.0.0"))
    other = make_tarball({"name": "evil", "version": "1.0.0", "scripts": {"install": "x"}})
    body["_attachments"]["evil-1.0.0.tgz"]["data"] = base64.b64encode(other).decode()
    body["_attachments"]["evil-1.0.0.tgz"]["length"] = len(other)
    response = requests.put(
        f"{registry}evil",
        json=body,
        headers={"Authorization": f"Bearer {token}", "npm-command": "publish"},
        timeout=30,
    )

    assert response.status_code == 400
    assert "does not match the tarball" in response.json()["error"]
    assert Package.objects.filter(name="evil").exists() is False


def test_an_unpublished_version_never_returns_with_another_tarball(npm_setup, tmp_path):
    npm, _, _ = npm_setup
    lib = _project(
        tmp_path / "lib",
        {"name": "keeper", "version": "1.0.0", "main": "i.js"},
        {"i.js": "module.exports = 1;\n", "README.md": "# keeper\n"},
    )
    npm("publish", cwd=lib)
    first = Version.objects.get(package__name="keeper").metadata["integrity"]
    npm("unpublish", "keeper@1.0.0", "--force")
    (lib / "i.js").write_text("module.exports = 2;\n")

    refused = npm("publish", cwd=lib, check=False)

    assert refused.returncode != 0
    assert "E403" in refused.stderr
    assert "You cannot publish over the previously published versions: 1.0.0." in refused.stderr
    assert Package.objects.filter(name="keeper").exists() is False
    (lib / "i.js").write_text("module.exports = 1;\n")
    npm("publish", cwd=lib)  # the very same tarball may come back
    assert Version.objects.get(package__name="keeper").metadata["integrity"] == first


# What `npm publish` itself sends as the version document: @npmcli/package-json's fix, then
# prepare, exactly as npm 11's publish command runs them on the package directory.
NPM_PUBLISH_MANIFEST_JS = """
const pkgJson = require(process.argv[1]);
pkgJson.fix(process.argv[2])
  .then((pkg) => pkg.prepare())
  .then(({ content }) => console.log(JSON.stringify(content)));
"""

INSTALL_FIELDS_CASES = [
    (
        "scoped string bin, gyp and server.js scripts, bundle true, optional duplicate",
        {
            "name": "@acme/tool",
            "version": "1.0.0",
            "bin": "cli.js",
            "scripts": {"build": "node_modules/.bin/tsc", "bad": 5},
            "bundleDependencies": True,
            "dependencies": {"tinylib": "^1.0.0", "other": "2.0.0"},
            "optionalDependencies": {"other": "2.0.0"},
            "engines": {"node": ">=18"},
            "os": ["linux"],
            "directories": {"bin": "bin"},
        },
        ["cli.js", "binding.gyp", "server.js", "bin/ignored"],
    ),
    (
        "directories.bin, bundledDependencies, dependencies as a list and a string",
        {
            "name": "bindir",
            "version": "1.0.0",
            "directories": {"bin": "./bin"},
            "bundledDependencies": ["kept"],
            "dependencies": ["dep@1.2.0", "range >=2"],
            "devDependencies": "dev-a dev-b",
            "peerDependencies": {"react": ">=18"},
            "cpu": ["x64"],
        },
        ["bin/first", "bin/sub/second"],
    ),
    (
        "bin paths out of the package, gypfile false, bundle false",
        {
            "name": "oddbins",
            "version": "1.0.0",
            "bin": {"a/b": "../../x.js", "ok": "./lib/ok.js", "bad": 5},
            "gypfile": False,
            "scripts": {"test": "node t.js"},
            "bundleDependencies": False,
            "dependencies": {"dep": "1.0.0"},
        },
        ["x.js", "lib/ok.js", "binding.gyp"],
    ),
]


@pytest.mark.parametrize(("_case", "manifest", "files"), INSTALL_FIELDS_CASES)
def test_served_install_fields_are_what_npm_publish_sends(
    npm_setup, tmp_path, _case, manifest, files
):
    npm, registry, token = npm_setup
    node = require_client("node")
    package_json = Path(npm("root", "-g").stdout.strip()) / "npm/node_modules/@npmcli/package-json"
    project = _project(tmp_path / "project", manifest, {})
    for name in files:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("#!/usr/bin/env node\n")
    sent = subprocess.run(
        [node, "-e", NPM_PUBLISH_MANIFEST_JS, str(package_json), str(project)],
        capture_output=True,
        text=True,
        check=True,
    )
    expected = json.loads(sent.stdout)

    npm("publish", cwd=project)

    name = manifest["name"].replace("/", "%2f")
    served = requests.get(
        f"{registry}{name}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).json()["versions"]["1.0.0"]
    fields = (*INSTALL_FIELDS, "bundledDependencies")
    assert {k: served[k] for k in fields if k in served} == {
        k: expected[k] for k in fields if k in expected
    }


def _crafted_publish(registry: str, token: str, *, name: str, tarball_json: dict, body_json: dict):
    body = json.loads(publish_body(name, "1.0.0", tarball=make_tarball(tarball_json)))
    body["versions"]["1.0.0"].update(body_json)
    response = requests.put(
        f"{registry}{name}",
        json=body,
        headers={"Authorization": f"Bearer {token}", "npm-command": "publish"},
        timeout=30,
    )
    assert response.status_code == 201, response.text


def test_npm_installs_what_the_tarball_says_not_what_the_body_claims(npm_setup, tmp_path):
    npm, registry, token = npm_setup
    marker = "require('fs').writeFileSync('RAN', '')"
    _crafted_publish(
        registry,
        token,
        name="added",
        tarball_json={"name": "added", "version": "1.0.0"},
        body_json={
            "scripts": {"postinstall": f'node -e "{marker}"'},
            "dependencies": {"ghost": "1.0.0"},
            "bin": {"ls": "evil.js"},
            "hasInstallScript": True,
        },
    )
    _crafted_publish(
        registry,
        token,
        name="hidden",
        tarball_json={
            "name": "hidden",
            "version": "1.0.0",
            "scripts": {"postinstall": f'node -e "{marker}"'},
        },
        body_json={"scripts": {}},
    )
    app = _project(tmp_path / "app", {"name": "app", "version": "1.0.0", "private": True}, {})

    npm("install", "added", "hidden", cwd=app)

    lock = json.loads((app / "package-lock.json").read_text())["packages"]
    assert sorted(lock) == ["", "node_modules/added", "node_modules/hidden"]
    assert (app / "node_modules/added/RAN").exists() is False
    assert (app / "node_modules/.bin/ls").exists() is False
    assert (app / "node_modules/hidden/RAN").exists() is True
    assert lock["node_modules/hidden"]["hasInstallScript"] is True


def test_star_and_unstar(npm_setup, tmp_path):
    npm, _, _ = npm_setup
    lib = _project(tmp_path / "lib", {"name": "starry", "version": "1.0.0"}, {})
    npm("publish", cwd=lib)

    starred = npm("star", "starry")

    assert starred.stdout.strip().endswith("starry")
    assert json.loads(npm("view", "starry", "users", "--json").stdout) == {"alice": True}
    npm("unstar", "starry")
    assert Package.objects.get(name="starry").metadata["users"] == {}
