"""Generated documents are served from this process's memory while their ETag is unchanged."""

import pytest

from formats.document_cache import DocumentCache, documents
from formats.models import Document
from formats.selectors import document_get, documents_get
from formats.services import document_delete, document_put
from tests.factories import RepositoryFactory


def test_the_cache_keeps_the_newest_entries_within_its_byte_budget():
    cache = DocumentCache(budget=10)
    cache.put((1, "a"), "ea", b"aaaa")
    cache.put((1, "b"), "eb", b"bbbb")
    assert cache.get((1, "a")) == ("ea", b"aaaa")  # a is now the most recently used
    cache.put((1, "c"), "ec", b"cccc")
    assert (cache.get((1, "a")), cache.get((1, "b")), cache.get((1, "c"))) == (
        ("ea", b"aaaa"),
        None,
        ("ec", b"cccc"),
    )
    cache.put((1, "big"), "e", b"x" * 11)
    assert cache.get((1, "big")) is None
    cache.put((1, "a"), "ea2", b"a")
    cache.discard((1, "c"))
    assert (cache.get((1, "a")), cache.get((1, "c"))) == (("ea2", b"a"), None)


@pytest.mark.django_db
def test_a_rewritten_document_is_read_anew_and_a_deleted_one_is_gone():
    repository = RepositoryFactory(name="docs", format="npm")
    document_put(repository=repository, key="k", content=b"first", content_type="text/plain")
    assert bytes(document_get(repository=repository, key="k").content) == b"first"
    document_put(repository=repository, key="k", content=b"second", content_type="text/plain")
    read = document_get(repository=repository, key="k")
    assert (read.content, read.etag) == (b"second", Document.objects.get(key="k").etag)
    document_delete(repository=repository, key="k")
    assert document_get(repository=repository, key="k") is None
    assert documents.get((repository.pk, "k")) is None


@pytest.mark.django_db
def test_an_unchanged_document_comes_from_memory_not_from_the_row():
    repository = RepositoryFactory(name="docs", format="npm")
    document_put(repository=repository, key="k", content=b"served", content_type="text/plain")
    document_get(repository=repository, key="k")
    # Same ETag, other bytes in the row: only a read that skipped the content returns "served".
    Document.objects.filter(key="k").update(content=b"not read")
    assert document_get(repository=repository, key="k").content == b"served"


@pytest.mark.django_db
def test_a_group_read_of_several_members_takes_unchanged_documents_from_memory():
    first = RepositoryFactory(name="first", format="npm")
    second = RepositoryFactory(name="second", format="npm")
    third = RepositoryFactory(name="third", format="npm")
    for repository in (first, second):
        document_put(
            repository=repository, key="k", content=repository.name.encode(), content_type="x/y"
        )
    members = [first, second, third]
    documents_get(repositories=members, key="k")
    # Same ETags, other bytes in the rows: only a read that skipped the contents keeps them.
    Document.objects.filter(key="k").update(content=b"not read")
    document_put(repository=second, key="k", content=b"changed", content_type="x/y")

    read = documents_get(repositories=members, key="k")

    assert {pk: document.content for pk, document in read.items()} == {
        first.pk: b"first",
        second.pk: b"changed",
    }
