"""The npm registry API as the npm CLI uses it.

https://github.com/npm/registry/blob/main/docs/REGISTRY-API.md; the exact requests of npm 11
are in ``tests/formats/npm/data/npm11_exchanges.json``.
"""

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers

from formats.npm import bodies, metadata, renderers
from formats.npm.errors import PublishInvalid
from formats.npm.reads import (
    Packument,
    npm_packument_json,
    npm_packument_read,
    npm_tarball_source,
)
from formats.npm.selectors import (
    npm_dist_tags,
    npm_name_decode,
    npm_package_get,
    npm_search,
    npm_token_key,
    npm_tokens_list,
    npm_version_document,
)
from formats.npm.services import (
    TARBALL_BASE_PLACEHOLDER_JSON,
    npm_dist_tag_delete,
    npm_dist_tag_set,
    npm_login,
    npm_logout,
    npm_metadata_apply,
    npm_metadata_changes,
    npm_package_unpublish,
    npm_publish,
    npm_star,
    npm_tarball_delete,
    npm_token_create,
    npm_token_revoke,
)
from formats.npm.upstream import npm_proxy_tarball
from formats.plugin import (
    DELETE,
    READ,
    ApiToken,
    AuthenticationRequired,
    IssuedToken,
    PermissionDenied,
    Principal,
    ProtocolView,
    RegistryError,
    Repository,
    VersionUnknown,
    asset_get,
    asset_response,
    conditional_response,
    document_etag,
    repository_path,
    repository_read_sources,
    request_json_body,
)

# Full first: a client that sends no Accept, or ``*/*`` alone, gets the full packument.
PACKUMENT_TYPES = (metadata.MIME_JSON, metadata.MIME_NPM_ABBREVIATED)
# Small bodies: a dist-tag version, a login, a metadata update without attachments.
MAX_SMALL_BODY = 1024 * 1024
QUERY_WRITE = "write"


def _ok(status: int = 200, **extra: Any) -> JsonResponse:
    return JsonResponse({"ok": True, **extra}, status=status)


def _time(value: Any) -> str | None:
    return metadata.format_time(value) if value else None


class NpmView(ProtocolView):
    """Base of the npm views: errors render as ``{"error": message}`` (see NpmConfig)."""

    format_name = "npm"

    def signed_in(self) -> Principal:
        """Return the caller, who must be signed in and may read this repository."""
        principal = self.require(READ)
        if principal.is_anonymous:
            raise AuthenticationRequired(challenge=self.format.auth_challenge(self.request))
        return principal

    def registry_url(self) -> str:
        """Absolute URL of this repository's registry root, as the client reached it."""
        return self.request.build_absolute_uri(repository_path(self.requested))

    def packument(self, principal: Principal, name: str, *, abbreviated: bool = False) -> Packument:
        """Return the packument of ``name`` here, merged over a group's members."""
        return npm_packument_read(
            repository=self.repository, principal=principal, name=name, abbreviated=abbreviated
        )

    def packument_json(self, principal: Principal, name: str) -> dict[str, Any]:
        """Return the full packument of ``name`` here as JSON, tarball URLs pointing here."""
        packument = self.packument(principal, name)
        return npm_packument_json(packument, base_url=self.registry_url())


def packument_response(
    request: HttpRequest, document: Packument, *, base_url: str
) -> HttpResponseBase:
    """Serve a packument with this registry's URL in its tarball links, with ETag/304."""
    base = json.dumps(base_url.rstrip("/"))[1:-1].encode()

    def respond() -> HttpResponse:
        content = document.body().replace(TARBALL_BASE_PLACEHOLDER_JSON, base)
        response = HttpResponse(
            b"" if request.method == "HEAD" else content, content_type=document.content_type
        )
        response["Content-Length"] = str(len(content))
        return response

    response = conditional_response(
        request,
        etag=f'"{document.etag}-{document_etag(base)[:8]}"',
        last_modified=document.updated,
        respond=respond,
    )
    patch_vary_headers(response, ("Accept", "Authorization"))
    patch_cache_control(response, max_age=0, must_revalidate=True)
    return response


class PackageView(NpmView):
    """``/<name>``: the packument (GET) and publish or metadata update (PUT)."""

    def get(self, request: HttpRequest, name: str) -> HttpResponseBase:
        """Serve the full packument, or the abbreviated one when the client asks for it.

        A read before a write (``?write=true``: the ``_rev`` that ``npm deprecate`` and
        ``npm unpublish`` send back) reads where the write will land: a group's deploy target.
        """
        principal = self.require(READ)
        name = npm_name_decode(segment=name)
        writing = QUERY_WRITE in request.GET
        if writing and self.repository.kind != Repository.Kind.HOSTED:
            principal = self.require_write()
        # npm 11 asks "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*".
        preferred = request.get_preferred_type(PACKUMENT_TYPES)
        abbreviated = preferred == metadata.MIME_NPM_ABBREVIATED and not writing
        document = self.packument(principal, name, abbreviated=abbreviated)
        return packument_response(request, document, base_url=self.registry_url())

    head = get

    def put(self, request: HttpRequest, name: str) -> HttpResponse:
        """Publish (``npm publish``), update metadata (``npm deprecate``) or star (``npm star``)."""
        try:
            principal, denied = self.require_write(), None
        except PermissionDenied as error:  # a reader may still star, as on the public registry
            principal, denied = self.signed_in(), error
        name = npm_name_decode(segment=name)
        body = request_json_body(request, limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        try:
            parsed = bodies.parse_put_body(body=body, url_name=name, rev=None)
        except RegistryError:
            if denied is not None:  # a reader gets no further than "denied" with a write
                raise denied from None
            raise
        read_only = principal.token is not None and principal.token.read_only
        if isinstance(parsed, bodies.StarUpdate):
            if denied is not None and read_only:
                raise denied
            package = npm_package_get(repository=self.repository, name=name)
            npm_star(package=package, update=parsed, user=principal.user)
            return _ok()
        if denied is not None:
            raise denied
        if isinstance(parsed, bodies.PublishRequest):
            npm_publish(repository=self.repository, publish=parsed, user=principal.user)
            return _ok(201)
        return _metadata_update(self, name=name, update=parsed, principal=principal)


def _metadata_update(
    view: NpmView, *, name: str, update: bodies.MetadataUpdate, principal: Principal
) -> HttpResponse:
    package = npm_package_get(repository=view.repository, name=name)
    changes = npm_metadata_changes(package=package, update=update)
    if changes.removed_versions:
        principal = view.require_write(DELETE)
    npm_metadata_apply(package=package, changes=changes, user=principal.user)
    return _ok(201)


class PackageRevisionView(NpmView):
    """``/<name>/-rev/<rev>``: ``npm unpublish`` of a version (PUT) or of the package (DELETE)."""

    def put(self, request: HttpRequest, name: str, rev: str) -> HttpResponse:
        """Apply the client's packument with versions removed or deprecated."""
        principal = self.require_write()
        name = npm_name_decode(segment=name)
        body = request_json_body(request, limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        parsed = bodies.parse_put_body(body=body, url_name=name, rev=rev)
        if not isinstance(parsed, bodies.MetadataUpdate):  # the parser refuses publishes
            raise PublishInvalid("only a metadata update can target a revision URL")
        return _metadata_update(self, name=name, update=parsed, principal=principal)

    def delete(self, request: HttpRequest, name: str, rev: str) -> HttpResponse:
        """Remove the whole package."""
        principal = self.require_write(DELETE)
        package = npm_package_get(repository=self.repository, name=npm_name_decode(segment=name))
        npm_package_unpublish(package=package, rev=rev, user=principal.user)
        return _ok()


class VersionView(NpmView):
    """``/<name>/<version>`` and ``/<name>/<dist-tag>``: one version document."""

    def get(self, request: HttpRequest, name: str, spec: str) -> HttpResponse:
        """Serve the version named by ``spec``."""
        principal = self.require(READ)
        if self.repository.kind != Repository.Kind.HOSTED:
            packument = self.packument_json(principal, npm_name_decode(segment=name))
            wanted = packument["dist-tags"].get(spec, spec)
            if wanted not in packument["versions"]:
                raise VersionUnknown(f"version not found: {packument['name']}@{spec}")
            return JsonResponse(packument["versions"][wanted])
        package = npm_package_get(repository=self.repository, name=npm_name_decode(segment=name))
        document = npm_version_document(
            package=package, spec=spec, tarball_base_url=self.registry_url()
        )
        return JsonResponse(document)


class TarballView(NpmView):
    """``/<name>/-/<file>.tgz``: download (GET/HEAD) and the tarball DELETE of unpublish."""

    def get(
        self, request: HttpRequest, name: str, filename: str, rev: str | None = None
    ) -> HttpResponseBase:
        """Stream the tarball from the blob store, or from a proxy's upstream once."""
        principal = self.require(READ)
        name = npm_name_decode(segment=name)
        if self.repository.kind == Repository.Kind.HOSTED:
            asset = asset_get(repository=self.repository, path=f"{name}/-/{filename}")
        else:
            source = npm_tarball_source(
                repository=self.repository, principal=principal, name=name, filename=filename
            )
            if source.asset is None:
                return npm_proxy_tarball(
                    request,
                    repository=source.member,
                    name=name,
                    filename=filename,
                    layout=source.layout,
                )
            asset = source.asset
        return asset_response(request, asset, content_type=metadata.MIME_NPM_TARBALL)

    head = get

    def delete(
        self, request: HttpRequest, name: str, filename: str, rev: str | None = None
    ) -> HttpResponse:
        """Remove the version of this tarball."""
        principal = self.require_write(DELETE)
        package = npm_package_get(repository=self.repository, name=npm_name_decode(segment=name))
        npm_tarball_delete(package=package, filename=filename, rev=rev, user=principal.user)
        return _ok()


class DistTagsView(NpmView):
    """``/-/package/<name>/dist-tags``: ``npm dist-tag ls``."""

    def get(self, request: HttpRequest, name: str) -> HttpResponse:
        """List the dist-tags."""
        principal = self.require(READ)
        if self.repository.kind != Repository.Kind.HOSTED:
            packument = self.packument_json(principal, npm_name_decode(segment=name))
            return JsonResponse(packument["dist-tags"])
        package = npm_package_get(repository=self.repository, name=npm_name_decode(segment=name))
        return JsonResponse(npm_dist_tags(package=package))


class DistTagView(NpmView):
    """``/-/package/<name>/dist-tags/<tag>``: ``npm dist-tag add`` (PUT) and ``rm`` (DELETE)."""

    def put(self, request: HttpRequest, name: str, tag: str) -> HttpResponse:
        """Point ``tag`` at the version in the body (a JSON string)."""
        principal = self.require_write()
        package = npm_package_get(repository=self.repository, name=npm_name_decode(segment=name))
        body = request_json_body(request, limit=MAX_SMALL_BODY)
        version = bodies.parse_dist_tag_body(body=body)
        npm_dist_tag_set(package=package, tag=tag, version=version, user=principal.user)
        return _ok(201)

    post = put

    def delete(self, request: HttpRequest, name: str, tag: str) -> HttpResponse:
        """Remove ``tag``."""
        principal = self.require_write()
        package = npm_package_get(repository=self.repository, name=npm_name_decode(segment=name))
        npm_dist_tag_delete(package=package, tag=tag, user=principal.user)
        return _ok()


class PingView(NpmView):
    """``/-/ping``: ``npm ping``."""

    def get(self, request: HttpRequest) -> HttpResponse:
        """Answer that the registry is up."""
        return JsonResponse({})


class WhoamiView(NpmView):
    """``/-/whoami``: ``npm whoami``."""

    def get(self, request: HttpRequest) -> HttpResponse:
        """Name the signed-in user."""
        return JsonResponse({"username": self.signed_in().user.get_username()})


class SearchView(NpmView):
    """``/-/v1/search``: ``npm search`` over the packages of this repository."""

    def get(self, request: HttpRequest) -> HttpResponse:
        """Answer one page of matches (a group's: over its members, proxies' cached packages)."""
        principal = self.require(READ)
        query = bodies.parse_search_query(params=request.GET)
        sources = repository_read_sources(repository=self.repository, principal=principal)
        hits, total = npm_search(repositories=sources, query=query)
        return JsonResponse(
            renderers.build_search_results(hits=hits, total=total, now=timezone.now())
        )


class AuditView(NpmView):
    """``/-/npm/v1/security/...``: ``npm audit`` finds no advisories here."""

    answers = {"bulk": renderers.empty_audit_bulk, "quick": renderers.empty_audit_quick}

    def post(self, request: HttpRequest, kind: str) -> HttpResponse:
        """Answer the bulk or quick audit with an empty report."""
        self.require(READ)
        return JsonResponse(self.answers[kind]())


class UserView(NpmView):
    """``/-/user/org.couchdb.user:<name>``: ``npm login``/``adduser`` (legacy auth type)."""

    def put(self, request: HttpRequest, username: str, rev: str | None = None) -> HttpResponse:
        """Exchange an existing user's password for a new token; never creates accounts."""
        body = request_json_body(request, limit=MAX_SMALL_BODY)
        login = bodies.parse_login_body(body=body, url_user=username)
        issued = npm_login(repository=self.repository, login=login, request=request)
        return JsonResponse(
            {"ok": True, "id": f"org.couchdb.user:{login.name}", "token": issued.secret},
            status=201,
        )


class LogoutView(NpmView):
    """``/-/user/token/<token>``: ``npm logout`` revokes the token it used."""

    def delete(self, request: HttpRequest, token: str) -> HttpResponse:
        """Revoke the caller's token named in the URL."""
        npm_logout(principal=self.signed_in(), secret=token)
        return _ok()


def _token_json(token: ApiToken, *, secret: str = "") -> dict[str, Any]:
    return {
        "token": secret or token.token_prefix,
        "key": npm_token_key(token=token),
        "name": token.name,
        "cidr_whitelist": None,
        "readonly": token.read_only,
        "created": _time(token.created),
        "updated": _time(token.last_used_at or token.created),
    }


class TokensView(NpmView):
    """``/-/npm/v1/tokens``: ``npm token list`` (GET) and ``npm token create`` (POST)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        """List the caller's active tokens (never their secrets)."""
        user = self.signed_in().user
        objects = [_token_json(token) for token in npm_tokens_list(user=user)]
        return JsonResponse({"objects": objects, "total": len(objects), "urls": {}})

    def post(self, request: HttpRequest) -> HttpResponse:
        """Create a token after checking the password in the body."""
        principal = self.signed_in()
        body = request_json_body(request, limit=MAX_SMALL_BODY)
        token_request = bodies.parse_token_create_body(body=body)
        issued: IssuedToken = npm_token_create(
            repository=self.repository, principal=principal, request=token_request
        )
        return JsonResponse(_token_json(issued.token, secret=issued.secret), status=201)


class TokenView(NpmView):
    """``/-/npm/v1/tokens/token/<key>``: ``npm token revoke``."""

    def delete(self, request: HttpRequest, key: str) -> HttpResponse:
        """Revoke the caller's token with this key (or secret)."""
        npm_token_revoke(principal=self.signed_in(), key=key)
        return HttpResponse(status=204)
