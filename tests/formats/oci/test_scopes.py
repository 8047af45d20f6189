import pytest

from formats.oci import scopes
from formats.oci.errors import ScopeInvalid
from formats.oci.scopes import Scope


@pytest.mark.parametrize(
    ("_case", "value", "expected"),
    [
        (
            "push",
            "repository:team/app:pull,push",
            Scope("repository", "team/app", ("pull", "push")),
        ),
        ("catalog", "registry:catalog:*", Scope("registry", "catalog", ("*",))),
        (
            "duplicate actions",
            "repository:app:pull,pull,delete",
            Scope("repository", "app", ("pull", "delete")),
        ),
        (
            "resource class",
            "repository(plugin):team/app:pull",
            Scope("repository(plugin)", "team/app", ("pull",)),
        ),
        (
            "name with port colon on non-repository type",
            "foo:host:5000/x:pull",
            Scope("foo", "host:5000/x", ("pull",)),
        ),
    ],
)
def test_parse_scope(_case, value, expected):
    scope = scopes.parse_scope(value)
    assert scope == expected


def test_scope_renders_back_and_as_claim():
    scope = scopes.parse_scope("repository:team/app:pull,push")
    assert str(scope) == "repository:team/app:pull,push"
    assert scope.to_claim() == {
        "type": "repository",
        "name": "team/app",
        "actions": ["pull", "push"],
    }


@pytest.mark.parametrize(
    ("_case", "value", "message"),
    [
        ("empty", "", "malformed scope"),
        ("no actions part", "repository:team/app", "malformed scope"),
        ("empty name", "repository::pull", "malformed scope"),
        ("empty actions", "repository:app:", "malformed scope actions"),
        ("bad action", "repository:app:pu-ll", "malformed scope actions"),
        ("bad type", "Repo:app:pull", "malformed scope"),
        ("invalid repository name", "repository:Team/App:pull", "invalid repository name in scope"),
    ],
)
def test_parse_scope_rejects_invalid(_case, value, message):
    with pytest.raises(ScopeInvalid) as excinfo:
        scopes.parse_scope(value)
    assert excinfo.value.message == message
    assert excinfo.value.detail == {"scope": value}


def test_parse_scopes_merges_params_as_skopeo_sends_them():
    # skopeo asks for the mount source as a second scope parameter.
    parsed = scopes.parse_scopes(
        ["repository:team/b:pull,push", "repository:team/a:pull", "repository:team/b:pull"]
    )
    assert parsed == (
        Scope("repository", "team/b", ("pull", "push")),
        Scope("repository", "team/a", ("pull",)),
    )


def test_parse_scopes_splits_space_separated_values():
    parsed = scopes.parse_scopes(["repository:a:pull registry:catalog:*", ""])
    assert parsed == (Scope("repository", "a", ("pull",)), Scope("registry", "catalog", ("*",)))


def test_parse_scopes_rejects_any_invalid():
    with pytest.raises(ScopeInvalid):
        scopes.parse_scopes(["repository:a:pull", "nonsense"])


@pytest.mark.parametrize(
    ("_case", "kwargs", "expected"),
    [
        (
            "no scope",
            {"realm": "http://r/token", "service": "r"},
            'Bearer realm="http://r/token",service="r"',
        ),
        (
            "scopes and error",
            {
                "realm": "http://r/token",
                "service": "r",
                "scopes": [
                    Scope("repository", "a", ("pull",)),
                    Scope("registry", "catalog", ("*",)),
                ],
                "error": "insufficient_scope",
            },
            (
                'Bearer realm="http://r/token",service="r",'
                'scope="repository:a:pull registry:catalog:*",error="insufficient_scope"'
            ),
        ),
    ],
)
def test_build_bearer_challenge(_case, kwargs, expected):
    assert scopes.build_bearer_challenge(**kwargs) == expected
