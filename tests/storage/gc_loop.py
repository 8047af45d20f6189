"""A garbage collector that never rests: ``python -m tests.storage.gc_loop SECONDS``.

Runs the OCI reachability collection (untagged manifests included) and the blob store's
collection with no grace period, back to back for SECONDS, and prints one JSON line per pass
with what it removed. The GC stress test runs it next to a live server.
"""

import json
import sys
import time
from datetime import timedelta

import django

NO_GRACE = timedelta(0)


def main(seconds: float) -> None:
    django.setup()
    from formats.oci.services import oci_gc
    from storage.services import blob_gc

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        images = oci_gc(grace=NO_GRACE, delete_untagged=True)
        store = blob_gc(grace=NO_GRACE)
        print(json.dumps({"manifests": images.manifests, "blobs": store.blobs}), flush=True)


if __name__ == "__main__":
    main(float(sys.argv[1]))
