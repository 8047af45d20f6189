"""Small helpers shared by protocol tests."""

from django.http.response import HttpResponseBase


def body_of(response: HttpResponseBase) -> bytes:
    """Return a response's body, closing a streamed file without ending the test's DB session.

    ``response.close()`` would fire ``request_finished``, which closes the database
    connection of a test running inside a transaction.
    """
    if not response.streaming:
        return response.content
    body = b"".join(response.streaming_content)
    stream = getattr(response, "file_to_stream", None)
    if stream is not None:
        stream.close()
    return body
