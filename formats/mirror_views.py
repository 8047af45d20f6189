"""The answer nginx asks for before it sends a file of the mirror itself (``auth_request``).

http://nginx.org/en/docs/http/ngx_http_auth_request_module.html: a 2xx lets the request
through, 401 and 403 refuse it. deploy/nginx.conf asks ``/-/authorize`` and caches the answer
per repository and Authorization header for ``X-Accel-Expires`` seconds
(``AUTHORIZE_CACHE_SECONDS``).
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from access.models import Role
from access.permissions import READ, require
from formats.base import format_config
from formats.mirror import mirror_readable
from formats.models import Repository
from registry_project.errors import RegistryError

ACTIONS = {role.label: role for role in Role}


def _answer(status: int, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    response["X-Accel-Expires"] = str(settings.AUTHORIZE_CACHE_SECONDS)
    return response


@require_safe
def mirror_authorize(request: HttpRequest) -> HttpResponse:
    """Answer whether the caller may perform ``?action=`` (default read) on ``?repository=``.

    204 when allowed, 401 with the format's challenge for anonymous or bad credentials, 403
    otherwise: also for a repository that is unknown or not mirrored (the mirror holds none of
    its files), and for a reader whose view the mirror does not hold (a group with a member the
    caller may not read). nginx then hands the request to the registry, which answers as it
    would without nginx (404, or the caller's own view). An unknown action is a configuration
    error (400, which nginx turns into a 500).
    """
    action = ACTIONS.get(request.GET.get("action", Role.READ.label))
    if action is None:
        return HttpResponse(status=400)
    repository = Repository.objects.filter(name=request.GET.get("repository", "")).first()
    config = format_config(repository.format) if repository is not None else None
    if repository is None or config is None or not config.mirrored:
        return _answer(403)
    challenge = config.auth_challenge(request)
    try:
        principal = require(request, repository=repository, action=action, challenge=challenge)
    except RegistryError as error:
        if error.http_status == 401:
            return _answer(401, dict(error.headers))
        # nginx knows only 2xx, 401 and 403; other refusals (a sign-in lockout's 429) are
        # answered by the registry itself, in the format's envelope.
        return _answer(403)
    if action == READ and not mirror_readable(repository=repository, principal=principal):
        # The caller may read the repository but gets a narrower view than the mirror holds:
        # the registry serves that view (nginx: @registry).
        return _answer(403)
    return _answer(204)
