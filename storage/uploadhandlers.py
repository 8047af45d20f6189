"""Django upload handlers whose spooled files the temp-file sweep leaves alone."""

import fcntl
import os

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler


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
