"""Django upload handlers: spooled files the temp-file sweep leaves alone, and parts streamed
into the blob store's upload sessions without a local copy."""

import fcntl
import os
from collections.abc import Iterable
from contextlib import ExitStack
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, TemporaryFileUploadHandler
from django.http import HttpRequest

from storage.models import Upload
from storage.services import CHUNK_SIZE, UploadWriter, upload_session, upload_writing


class LockedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Spool large multipart parts like Django does, holding a lock on the file while it is open.

    The parts land in the store's temp folder (``FILE_UPLOAD_TEMP_DIR``), where garbage
    collection sweeps files left by crashed uploads; it removes only files it can lock.
    """

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        while True:
            fcntl.flock(self.file.fileno(), fcntl.LOCK_EX)
            if os.fstat(self.file.fileno()).st_nlink:
                return
            self.file.close()  # swept between its creation and the lock: take another
            super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        try:
            return super().receive_data_chunk(raw_data, start)
        except OSError:
            self.file.close()  # Django keeps only finished parts; this one gives its space back
            raise

    def file_complete(self, file_size: int) -> UploadedFile | None:
        try:
            return super().file_complete(file_size)
        except OSError:
            self.file.close()
            raise


class UploadedPart(UploadedFile):
    """A multipart file part that ``UploadSessionHandler`` streamed into ``upload``; it has no
    local file to read."""

    def __init__(self, *, upload: Upload, name: str, size: int, content_type: str) -> None:
        super().__init__(file=None, name=name, content_type=content_type, size=size)
        self.upload = upload

    def close(self) -> None:
        """Nothing to close: the bytes are in the session (Django closes every part it kept)."""


class UploadSessionHandler(FileUploadHandler):
    """Stream one multipart file part into an upload session of the blob store as it arrives.

    The part is hashed while it is written (a multipart upload to an object store, a file in
    its ``uploads/`` folder on a filesystem): no copy of it is spooled on local disk first, and
    memory holds a chunk. Other file parts are skipped. Use it as a context manager around
    reading ``request.POST`` and using the part: the session goes when the block ends unless
    ``upload_finish`` made a blob of it, and a part cut off half-way is dropped at once.
    """

    chunk_size = CHUNK_SIZE

    def __init__(
        self,
        request: HttpRequest,
        *,
        field: str,
        scope: str,
        owner: User | AnonymousUser | None,
        algorithms: Iterable[str] = (),
    ) -> None:
        super().__init__(request)
        self._field, self._scope, self._owner = field, scope, owner
        self._algorithms = tuple(algorithms)
        self._session, self._writing = ExitStack(), ExitStack()
        self._writer: UploadWriter | None = None
        self._upload: Upload | None = None

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        if field_name != self._field or self._upload is not None:
            raise SkipFile()
        super().new_file(field_name, file_name, *args, **kwargs)
        self._upload = self._session.enter_context(
            upload_session(owner=self._owner, scope=self._scope)
        )
        self._writer = self._writing.enter_context(
            upload_writing(upload=self._upload, algorithms=self._algorithms)
        )

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        assert self._writer is not None  # Django calls new_file first
        self._writer.write(memoryview(raw_data))

    def file_complete(self, file_size: int) -> UploadedPart:
        assert self._writer is not None
        upload = self._writer.upload
        self._writing.close()  # the part counts only now (the upload's size with it)
        self._writer = None
        return UploadedPart(
            upload=upload,
            name=self.file_name or "",
            size=file_size,
            content_type=self.content_type or "",
        )

    def __enter__(self) -> "UploadSessionHandler":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        # A part cut off by an error gets it, so its append adds nothing and frees the lock.
        try:
            self._writing.__exit__(*exc_info)
        finally:
            self._session.__exit__(*exc_info)
