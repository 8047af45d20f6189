"""A garbage collector that never rests: ``python -m tests.storage.gc_loop STOP_FILE SECONDS``.

Runs the OCI reachability collection (untagged manifests included) and the blob store's
collection with no grace period, back to back until STOP_FILE exists (or SECONDS pass, a
bound for a test that died), then one pass more, and prints one JSON line per pass with what
it removed. The GC stress test runs it next to a live server.
"""

import json
import sys
import time
from datetime import timedelta
from pathlib import Path

import django

NO_GRACE = timedelta(0)
# A breath between passes: back to back, a pass can collect every push's blobs before its
# manifest arrives, and no push ever completes.
PAUSE = 0.05


def main(stop_file: Path, seconds: float) -> None:
    django.setup()
    from formats.oci.services import oci_gc
    from storage.services import blob_gc

    deadline = time.monotonic() + seconds
    last = False
    while not last:
        # The pass after the clients stopped finds what their last pushes left untagged.
        last = stop_file.exists() or time.monotonic() >= deadline
        images = oci_gc(grace=NO_GRACE, delete_untagged=True)
        store = blob_gc(grace=NO_GRACE)
        print(json.dumps({"manifests": images.manifests, "blobs": store.blobs}), flush=True)
        time.sleep(PAUSE)


if __name__ == "__main__":
    main(Path(sys.argv[1]), float(sys.argv[2]))
