"""Two registry servers, two Celery workers and beat on one database, one store, one broker.

The production shape on one machine: every process is started with the command
docker-compose.yml runs (gunicorn, ``celery worker``, ``celery beat``), with the test settings.
"""

import json
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.live import BIN, ROOT, LiveServer, child_environment, start_server, start_worker


@dataclass
class Cluster:
    """The running processes; ``servers[0]`` and ``servers[1]`` are the two web replicas."""

    servers: list[LiveServer]
    workers: list[subprocess.Popen]
    beat: subprocess.Popen
    queue: str
    logs: Path
    dead: list[str] = field(default_factory=list)

    def check_alive(self) -> None:
        """Fail with the log of any process that exited."""
        processes = {f"server {i}": s.process for i, s in enumerate(self.servers)}
        processes.update({f"worker {i}": w for i, w in enumerate(self.workers)})
        processes["beat"] = self.beat
        gone = [name for name, process in processes.items() if process.poll() is not None]
        assert not gone, f"{gone} exited; logs in {self.logs}"

    def access_lines(self) -> list[dict]:
        """Every access line both servers logged (LOG_FORMAT=json: one object per request)."""
        entries = []
        for server in self.servers:
            for line in server.log.read_text(errors="replace").splitlines():
                if line.startswith("{"):
                    entry = json.loads(line)
                    if entry.get("logger") == "registry.access":
                        entries.append(entry)
        return entries


def start_beat(log_dir: Path, queue: str, **env: str) -> subprocess.Popen:
    """Start Celery beat sending the schedule's tasks to ``queue``."""
    with (log_dir / "beat.log").open("wb") as output:
        return subprocess.Popen(
            [str(BIN / "celery"), "-A", "registry_project", "beat", "--loglevel", "INFO"]
            + ["--schedule", str(log_dir / "beat-schedule"), "--pidfile", ""],
            cwd=ROOT,
            env=child_environment(CELERY_TASK_DEFAULT_QUEUE=queue, **env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )


@contextmanager
def cluster_running(root: Path, **env: str) -> Iterator[Cluster]:
    """Start two servers, two workers and beat with ``env``; stop them all at the end."""
    queue = f"scaleout-{uuid.uuid4().hex[:10]}"
    env = {"LOG_FORMAT": "json", **env}
    started: list = []
    try:
        servers = []
        for index in range(2):
            (root / f"server-{index}").mkdir()
            servers.append(start_server(root / f"server-{index}", **env))
            started.append(servers[-1])
        workers = []
        for index in range(2):
            (root / f"worker-{index}").mkdir()
            worker = start_worker(
                root / f"worker-{index}", queue, hostname=f"scaleout{index}@%h", **env
            )
            workers.append(worker)
            started.append(worker)
        (root / "beat").mkdir()
        beat = start_beat(root / "beat", queue, **env)
        started.append(beat)
        yield Cluster(servers=servers, workers=workers, beat=beat, queue=queue, logs=root)
    finally:
        for process in reversed(started):
            if isinstance(process, LiveServer):
                process.stop()
            else:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
