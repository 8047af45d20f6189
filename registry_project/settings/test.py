"""Settings for the test suite and the live servers it starts: base settings, fast hashing."""

from pathlib import Path

from .base import *  # noqa: F403
from .base import VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
BLOB_STORE_DIR = VAR_DIR / "test-blobs"
FILE_UPLOAD_TEMP_DIR = str(BLOB_STORE_DIR / "tmp")
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
BLOB_FSYNC = False
ALLOWED_HOSTS = ["*"]
REGISTRY_IN_PROCESS_SCHEDULE = False  # tests that want it start one themselves
# The live servers serve the admin's and UI's static files without a collectstatic run.
WHITENOISE_USE_FINDERS = True
# Tests flush download counts themselves; a live server is told an interval when it needs one.
DOWNLOAD_STATS_FLUSH_SECONDS = env.int("DOWNLOAD_STATS_FLUSH_SECONDS", default=0)  # noqa: F405
