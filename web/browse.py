"""The browse pages: home, search, repository, package and version (server-rendered).

Every page reads through ``formats.catalog`` and the formats' FormatConfig hooks, limited to
the repositories the visitor may read (``readable_repositories``); a repository the visitor
may not read is a 404, exactly like one that does not exist.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from access.auth import Principal
from access.permissions import readable_repositories
from formats.base import FormatConfig, VersionDetails, format_config
from formats.catalog import (
    digest_parse,
    digest_search,
    folder_list,
    package_find,
    package_search,
    repository_summaries,
    version_sizes,
)
from formats.models import Package, Repository, Version
from formats.models.repository import FORMAT_CHOICES
from formats.selectors import repository_read_sources, tag_history
from web.markup import render_readme

PAGE_SIZE = 50
HISTORY_SIZE = 50
FOLDER_FORMATS = ("raw", "maven")


def _principal(request: HttpRequest) -> Principal:
    return Principal(user=request.user)


def _readable(request: HttpRequest) -> QuerySet[Repository]:
    return readable_repositories(principal=_principal(request))


def _repository(request: HttpRequest, name: str) -> Repository:
    return get_object_or_404(_readable(request), name=name)  # private ones stay hidden


def _package(repository: Repository, name: str) -> Package:
    package = package_find(repository=repository, name=name)
    if package is None:
        raise Http404("no such package")
    return package


@dataclass(frozen=True)
class Window:
    """One page of rows, read without counting them all (a count scans every match)."""

    rows: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def _window(number: int, rows: list) -> Window:
    """A Window of ``rows``, read as PAGE_SIZE rows and one more to tell whether a next exists."""
    return Window(rows[:PAGE_SIZE], number, len(rows) > PAGE_SIZE)


def _page(request: HttpRequest, items: QuerySet) -> Window:
    """The ``?page=`` of ``items``."""
    number = _page_number(request)
    start = (number - 1) * PAGE_SIZE
    return _window(number, list(items[start : start + PAGE_SIZE + 1]))


def _search_page(
    request: HttpRequest,
    *,
    repositories: QuerySet[Repository],
    text: str,
    format_name: str = "",
    repository: str = "",
) -> Window:
    """The ``?page=`` of the packages of ``repositories`` matching ``text``."""
    number = _page_number(request)
    rows = package_search(
        repositories=repositories,
        text=text,
        format_name=format_name,
        repository=repository,
        offset=(number - 1) * PAGE_SIZE,
        limit=PAGE_SIZE + 1,
    )
    return _window(number, rows)


def _query(**fields: str) -> str:
    """The query string a pager link keeps (it adds ``page=``)."""
    kept = {name: value for name, value in fields.items() if value}
    return urlencode(kept) + "&" if kept else ""


def _config(repository: Repository) -> FormatConfig:
    config = format_config(repository.format)
    if config is None:
        raise Http404("this format is not installed")
    return config


def _base_url(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def index(request: HttpRequest) -> HttpResponse:
    """The repositories the visitor may read, with format, kind, package count and size."""
    summaries = repository_summaries(repositories=_readable(request))
    return render(request, "web/index.html", {"summaries": summaries})


def search(request: HttpRequest) -> HttpResponse:
    """Packages by name, summary or keywords; or, for a digest, every place holding it."""
    text = request.GET.get("q", "").strip()
    format_name = request.GET.get("format", "")
    repository = request.GET.get("repository", "")
    readable = _readable(request)
    context: dict[str, object] = {
        "q": text,
        "format": format_name,
        "repository": repository,
        "formats": [name for name, _ in FORMAT_CHOICES],
    }
    digest = digest_parse(text)
    if digest is not None:
        algorithm, hex_digest = digest
        context["digest"] = f"{algorithm}:{hex_digest}"
        context["hits"] = digest_search(
            repositories=readable, algorithm=algorithm, hex_digest=hex_digest
        )
    elif text or format_name or repository:
        context["page"] = _search_page(
            request,
            repositories=readable,
            text=text,
            format_name=format_name,
            repository=repository,
        )
        context["query"] = _query(q=text, format=format_name, repository=repository)
    return render(request, "web/search.html", context)


def repository_detail(request: HttpRequest, name: str) -> HttpResponse:
    """A repository's packages (paginated, filtered), its client setup and its folders."""
    repository = _repository(request, name)
    text = request.GET.get("q", "").strip()
    # A group's packages are its members' (those the visitor may read), in their own pages.
    sources = repository_read_sources(repository=repository, principal=_principal(request))
    readable = Repository.objects.filter(pk__in=[source.pk for source in sources])
    username = request.user.get_username() if request.user.is_authenticated else ""
    path = request.GET.get("path", "")
    context = {
        "repository": repository,
        "q": text,
        "page": _search_page(request, repositories=readable, text=text),
        "query": _query(q=text),
        "setup": _config(repository).setup_snippets(
            repository, base_url=_base_url(request), username=username
        ),
        "members": sources if repository.kind == Repository.Kind.GROUP else [],
        "browsable": repository.format in FOLDER_FORMATS,
    }
    if context["browsable"]:
        context["path"] = path.strip("/")
        context["crumbs"] = _crumbs(path)
        context["entries"] = folder_list(repository=repository, path=path)
    return render(request, "web/repository.html", context)


def _crumbs(path: str) -> list[tuple[str, str]]:
    parts = [part for part in path.strip("/").split("/") if part]
    return [(part, "/".join(parts[: index + 1]) + "/") for index, part in enumerate(parts)]


def _details(config: FormatConfig, version: Version | None) -> VersionDetails:
    return config.version_details(version) if version is not None else VersionDetails()


def _readme(details: VersionDetails) -> str:
    if not details.readme:
        return ""
    return render_readme(details.readme, readme_format=details.readme_format)


def package_detail(request: HttpRequest, name: str, package: str) -> HttpResponse:
    """Summary, latest version, the versions table, tags with their timeline, then the readme."""
    repository = _repository(request, name)
    found = _package(repository, package)
    versions = _page(request, version_sizes(package=found))
    tags = list(found.tags.select_related("version").order_by("name"))
    latest = next((tag.version for tag in tags if tag.name == "latest"), None)
    latest = latest or found.versions.order_by("-published_at", "-pk").first()
    details = _details(_config(repository), latest)
    context = {
        "repository": repository,
        "package": found,
        "latest": latest,
        "details": details,
        "readme": _readme(details),
        "versions": versions,
        "package_url": reverse("web:package", args=[repository.name, found.name]),
        "tags": tags,
        "history": tag_history(package=found)[:HISTORY_SIZE],
    }
    return render(request, "web/package.html", context)


def version_detail(request: HttpRequest, name: str, package: str, version: str) -> HttpResponse:
    """A version's files with sizes and digests, downloads, dependencies and install snippets."""
    repository = _repository(request, name)
    found = _package(repository, package)
    chosen = Version.objects.filter(package=found, version=version).first()
    if chosen is None:
        raise Http404("no such version")
    chosen.package = found
    config = _config(repository)
    assets = list(chosen.assets.select_related("blob").order_by("path"))
    details = _details(config, chosen)
    present = set(
        Package.objects.filter(
            repository=repository,
            normalized_name__in=[dependency.name for dependency in details.dependencies],
        ).values_list("normalized_name", flat=True)
    )
    context = {
        "repository": repository,
        "package": found,
        "version": chosen,
        "details": details,
        "files": [(asset, config.asset_url(asset, repository)) for asset in assets],
        "dependencies": [
            (dependency, dependency.name in present) for dependency in details.dependencies
        ],
        "snippets": config.install_snippets(chosen, assets, base_url=_base_url(request)),
        "tags": [tag.name for tag in chosen.tags.order_by("name")],
    }
    return render(request, "web/version.html", context)
